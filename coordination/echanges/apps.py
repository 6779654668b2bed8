from django.apps import AppConfig


class EchangesConfig(AppConfig):
    """Outbox et adaptateurs MSSanté, MES, DMP (rempli par le ticket des échanges)."""

    name = "coordination.echanges"
    label = "echanges"
    verbose_name = "échanges avec l'extérieur"
