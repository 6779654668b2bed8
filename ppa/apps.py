from django.apps import AppConfig


class PpaConfig(AppConfig):
    """Projet personnalisé d'accompagnement (ticket du PPA)."""

    name = "ppa"
    verbose_name = "projet personnalisé d'accompagnement"

    def ready(self) -> None:
        from ppa import fhir_ppa  # noqa: F401 (enregistre CarePlan, Goal et Task dans le registre FHIR)
