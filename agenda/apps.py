from django.apps import AppConfig


class AgendaConfig(AppConfig):
    """Agenda consolidé (ticket de l'agenda)."""

    name = "agenda"
    verbose_name = "agenda"
