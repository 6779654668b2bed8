"""Tâches Celery de la boîte d'envoi : l'envoi d'un message après la validation de la transaction
qui l'a mis en file, et le balayage périodique de ce qui est dû (ADR 0032)."""

from __future__ import annotations

from celery import shared_task

from coordination.echanges import accuses, envoi

__all__ = ["accuses", "balayer", "envoyer"]  # accuses : la tâche du relevé des accusés MSSanté


@shared_task(name="echanges.envoyer")
def envoyer(message_id: int) -> str | None:
    return envoi.envoyer(message_id)


@shared_task(name="echanges.balayer")
def balayer() -> int:
    """Reprend les messages dus : échéances d'attente passées, baux expirés, demandes perdues (Redis
    arrêté ou vidé). S'arrête avant la prochaine exécution programmée."""
    from django.conf import settings

    return envoi.balayer(duree_max=max(1.0, settings.ECHANGES_BALAYAGE_SECONDES * 0.8))
