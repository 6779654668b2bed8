"""Nature d'un message → la fonction qui rebâtit son `Contenu` depuis sa charge.

Chaque constructeur a la signature `construire(message: MessageSortant) -> Contenu`, lit les objets
que la charge désigne (objets figés : version validée, fiche envoyée…), vérifie leur empreinte, et
lève une exception si ce n'est plus possible (le message sera retenté puis mis en lettre morte).
Les chemins sont importés à la demande : `echanges` ne dépend d'aucune application métier."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from coordination.echanges.contenus import Contenu
    from coordination.echanges.models import MessageSortant

CONSTRUCTEURS: dict[str, str] = {
    "echanges.essai": "coordination.echanges.essai.construire",
    # Rempli par les lots qui mettent des messages en file (PPA, agenda, notifications).
    "ppa.fiche_mdph": "ppa.mdph.construire",
    "ppa.depot_dmp": "ppa.depot_dmp.construire",
    "agenda.mes_rendez_vous": "agenda.mes.construire",
    "notifications.webhook": "coordination.notifications.abonnements.construire",
    "notifications.immediate": "coordination.notifications.contenus.construire_immediate",
    "notifications.resume": "coordination.notifications.contenus.construire_resume",
}


class NatureInconnue(LookupError):
    """Un message dont la nature n'a pas de constructeur (retenté, puis lettre morte)."""


def construire(message: MessageSortant) -> Contenu:
    try:
        chemin = CONSTRUCTEURS[message.nature]
    except KeyError:
        raise NatureInconnue(f"Aucun constructeur pour la nature « {message.nature} ».") from None
    return import_string(chemin)(message)
