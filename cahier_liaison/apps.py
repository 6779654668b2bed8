from django.apps import AppConfig


class CahierLiaisonConfig(AppConfig):
    """Cahier de liaison partagé (ticket du cahier de liaison)."""

    name = "cahier_liaison"
    verbose_name = "cahier de liaison"

    def ready(self) -> None:
        from cahier_liaison import fhir_cahier  # noqa: F401 (enregistre DocumentReference)
