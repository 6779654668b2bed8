from django.apps import AppConfig


class PersonnesConfig(AppConfig):
    name = "coordination.personnes"
    label = "personnes"
    verbose_name = "personnes et structures"

    def ready(self) -> None:
        # Ressources FHIR de l'annuaire (Organization, Practitioner, PractitionerRole).
        from coordination.personnes import fhir_annuaire  # noqa: F401
