"""Tâches périodiques de l'agenda."""

from celery import shared_task

from agenda import reunions


@shared_task(name="agenda.expirer_reunions")
def expirer_reunions() -> int:
    """Tous les quarts d'heure : les demandes de réunion sans accord à leur date limite libèrent le
    créneau tenu dans chaque agenda, et chacun est prévenu."""
    return reunions.expirer_demandes()
