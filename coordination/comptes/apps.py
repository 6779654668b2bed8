from django.apps import AppConfig


class ComptesConfig(AppConfig):
    name = "coordination.comptes"
    label = "comptes"
    verbose_name = "comptes et connexion"
