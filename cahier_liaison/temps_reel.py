"""Temps réel du cahier de liaison (ADR 0017) : après la validation d'une écriture, un petit message
(UUID de la note, nature, code de visibilité : aucune donnée de santé) part sur un canal Redis
propre à l'usager ; le flux SSE des pages (`views_flux.py`) le relaie aux lecteurs habilités, dont
la page va chercher la note par une vue ordinaire qui applique `peut_voir_note`.

Redis absent ou en panne : la publication est perdue (journalisée en avertissement), l'écriture
reste faite ; les pages marchent, seules les mises à jour en direct s'arrêtent."""

from __future__ import annotations

import json
import logging
import time
from functools import cache

import redis
from django.conf import settings
from django.db import transaction

journal = logging.getLogger(__name__)

# Action du journal → nature du message publié (les écritures qui changent ce qu'affiche une note).
NATURES = {
    "cahier.note.ecriture": "nouvelle",
    "cahier.note.reponse": "reponse",
    "cahier.note.modification": "modification",
    "cahier.note.desactivation": "desactivation",
    "cahier.accuse.demande": "accuse_demande",
    "cahier.alerte": "alerte",
    "cahier.accuse.reception": "accuse",
}


@cache
def connexion() -> redis.Redis:
    """Un client Redis par processus (il tient son propre réservoir de connexions)."""
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.CAHIER_TEMPS_REEL_DELAI_REDIS,
        socket_timeout=settings.CAHIER_TEMPS_REEL_DELAI_REDIS,
        health_check_interval=30,
    )


def canal(usager_uuid) -> str:
    """Le canal de l'usager ; le préfixe (réglage) sépare les environnements et les processus de test,
    car les canaux Redis ne dépendent pas du numéro de base."""
    return f"{settings.CAHIER_TEMPS_REEL_PREFIXE}:usager:{usager_uuid}"


def message(note, nature: str) -> dict:
    # L'identifiant d'événement : horodatage en millisecondes (Last-Event-ID du navigateur).
    return {
        "id": str(int(time.time() * 1000)),
        "note": str(note.uuid),
        "fil": str(note.reponse_a.uuid) if note.reponse_a_id else str(note.uuid),
        "nature": nature,
        "visibilite": note.visibilite,
    }


def _envoyer(usager_uuid, contenu: dict) -> None:
    try:
        connexion().publish(canal(usager_uuid), json.dumps(contenu))
    except redis.RedisError as exc:
        journal.warning("Cahier : publication temps réel perdue (%s).", exc)


def publier_apres_validation(action: str, note) -> None:
    """Publie l'écriture `action` sur la note après la validation de la transaction (rien si elle
    est annulée, rien pour une action qui ne change pas l'affichage d'une note)."""
    nature = NATURES.get(action)
    if nature is None:
        return
    contenu = message(note, nature)
    usager_uuid = note.usager.uuid
    transaction.on_commit(lambda: _envoyer(usager_uuid, contenu))
