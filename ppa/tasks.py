"""Tâches du projet personnalisé : rappel des revues annuelles."""

from celery import shared_task

from ppa import revues


@shared_task(name="ppa.rappeler_revues")
def rappeler_revues() -> int:
    """Chaque jour : un rappel au référent de chaque projet à revoir dans les 30 jours ou en retard
    de revue, une seule fois par projet et par échéance."""
    return revues.rappeler_revues()
