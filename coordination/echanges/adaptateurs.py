"""Destination d'un message → la fonction qui le remet au pair.

Chaque adaptateur a la signature `envoyer(message: MessageSortant, contenu: Contenu) -> str` : il
rend l'identifiant que le pair donne au message (Message-ID, identifiant du document…), lève
`erreurs.PairIndisponible` pour « plus tard » et `erreurs.Rejet` pour « jamais ». Il transmet la
clé d'idempotence du message au pair (Message-ID dérivé de la clé, `If-None-Exist`, en-tête…) :
un envoi répété après une panne au mauvais moment n'est reçu qu'une fois."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from coordination.echanges.contenus import Contenu
    from coordination.echanges.models import MessageSortant

ADAPTATEURS: dict[str, str] = {
    # Rempli par les lots des adaptateurs : "mssante", "dmp", "mes", "courriel", "sms", "webhook".
    "mssante": "coordination.echanges.mssante.envoyer",
    "dmp": "coordination.echanges.dmp.envoyer",
    "mes": "coordination.echanges.mes.envoyer",
    "sms": "coordination.echanges.sms.envoyer",
    "webhook": "coordination.echanges.webhook.envoyer",
    "courriel": "coordination.echanges.courriel.envoyer",
}


def remettre(message: MessageSortant, contenu: Contenu) -> str:
    return import_string(ADAPTATEURS[message.destination])(message, contenu)


def liberer() -> None:
    """Ferme les connexions que les adaptateurs gardent pour le fil courant (fin d'un fil d'envoi)."""
    from coordination.echanges import sessions

    sessions.fermer()
    for chemin in ADAPTATEURS.values():
        module = import_module(chemin.rpartition(".")[0])
        fermer = getattr(module, "fermer", None)
        if fermer is not None:
            fermer()
