"""Tâches périodiques du cercle."""

from celery import shared_task

from cercle import services


@shared_task(name="cercle.expirer_demandes")
def expirer_demandes() -> int:
    """Chaque nuit : les demandes d'adhésion restées sans réponse expirent (le demandeur le voit)."""
    return services.expirer_demandes()
