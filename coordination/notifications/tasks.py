"""Tâches des notifications : distribution (après validation et balayage de chaque minute) et
résumés du jour et de la semaine (Celery beat, heure de Paris)."""

from celery import shared_task

from coordination.notifications import distribution
from coordination.notifications.catalogue import Frequence


@shared_task(name="notifications.distribuer")
def distribuer() -> int:
    """Distribue ce qui attend dans les quatre sources ; rend le nombre de notifications créées."""
    return distribution.distribuer()


@shared_task(name="notifications.resume_quotidien")
def resume_quotidien() -> int:
    return distribution.envoyer_resumes(Frequence.QUOTIDIENNE)


@shared_task(name="notifications.resume_hebdomadaire")
def resume_hebdomadaire() -> int:
    return distribution.envoyer_resumes(Frequence.HEBDOMADAIRE)
