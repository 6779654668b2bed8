from django.apps import AppConfig


class ComptesConfig(AppConfig):
    name = "coordination.comptes"
    label = "comptes"
    verbose_name = "comptes et connexion"

    def ready(self) -> None:
        from coordination.comptes import connexions  # noqa: F401 — journal des connexions (signaux)
