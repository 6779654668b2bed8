from django.apps import AppConfig


class FhirConfig(AppConfig):
    """Plomberie de l'API FHIR R4 (remplie par les tickets cercle, cahier, agenda, PPA)."""

    name = "coordination.fhir"
    label = "fhir"
    verbose_name = "API FHIR"
