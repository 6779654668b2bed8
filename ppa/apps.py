from django.apps import AppConfig


class PpaConfig(AppConfig):
    """Projet personnalisé d'accompagnement (ticket du PPA)."""

    name = "ppa"
    verbose_name = "projet personnalisé d'accompagnement"
