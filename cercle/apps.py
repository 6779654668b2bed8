from django.apps import AppConfig


class CercleConfig(AppConfig):
    """Cercle de santé et d'accompagnement et habilitations (ticket du cercle)."""

    name = "cercle"
    verbose_name = "cercle de santé et d'accompagnement"

    def ready(self) -> None:
        from cercle import fhir_cercle, fhir_usagers  # noqa: F401 (enregistre CareTeam, Patient, RelatedPerson)
