"""Application Celery du portail (workers et beat)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coordination.settings")

app = Celery("coordination")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def publier_sans_attendre(tache, *args) -> bool:
    """Publie `tache(*args)` pour un worker, sans attendre si Redis ne répond pas : une connexion à
    part, sans nouvelle tentative (`max_retries` 0), plutôt que le pool de Celery qui réessaie
    plusieurs secondes. Pour les demandes qui ne sont qu'un raccourci (un balayage périodique fait
    le même travail) : rend False, et journalise, si la demande n'est pas partie."""
    import logging

    try:
        with app.connection_for_write(transport_options={"max_retries": 0}) as connexion:
            tache.apply_async(args, connection=connexion, retry=False)
    except Exception as exc:  # noqa: BLE001 — Redis absent : le balayage rattrapera
        logging.getLogger(__name__).warning(
            "Tâche %s non publiée (%s) ; le balayage la fera.", tache.name, exc
        )
        return False
    return True
