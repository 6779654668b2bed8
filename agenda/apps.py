from django.apps import AppConfig


class AgendaConfig(AppConfig):
    """Agenda consolidé (ticket de l'agenda)."""

    name = "agenda"
    verbose_name = "agenda"

    def ready(self) -> None:
        from agenda import fhir_agenda  # noqa: F401 (enregistre Appointment dans le registre FHIR)
