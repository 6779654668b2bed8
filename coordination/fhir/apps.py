from django.apps import AppConfig


class FhirConfig(AppConfig):
    """Plomberie de l'API FHIR R4 (docs/decisions/0009-api-fhir.md) : les applications y déclarent
    leurs ressources (`coordination.fhir.registre.enregistrer`) depuis leur `AppConfig.ready()`."""

    name = "coordination.fhir"
    label = "fhir"
    verbose_name = "API FHIR"

    def ready(self) -> None:
        # Subscription (NdE, ticket 8) : son modèle est celui des notifications.
        from coordination.fhir import subscription  # noqa: F401
