"""Adaptateur Mon espace santé : un rendez-vous de l'agenda de la personne, en Appointment FR Core /
GAP (construit par `agenda.mes.construire`), envoyé à l'API agenda de MES (`settings.MES_URL`)
avec le jeton d'appariement de la personne (ADR 0034).

Révision 0 : création conditionnelle (`POST` avec `If-None-Exist: identifier=…`) ; révisions
suivantes (modification, annulation = statut `cancelled`) : mise à jour conditionnelle
`PUT Appointment?identifier=…` (volet GAP, flux 6b). L'identifiant est celui du portail : un
renvoi ne crée jamais de doublon. L'identité est relue (plus qualifiée → `Rejet`) et l'accord
aussi (retiré → `Rejet` : rien ne part)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from django.conf import settings

from coordination.echanges.dmp import usager_qualifie
from coordination.echanges.erreurs import Rejet
from coordination.echanges.http_fhir import appeler
from coordination.echanges.models import Destination

if TYPE_CHECKING:
    from coordination.echanges.contenus import Contenu
    from coordination.echanges.models import MessageSortant

SERVICE = "Mon espace santé"


def envoyer(message: MessageSortant, contenu: Contenu) -> str:
    """Remet l'Appointment ; rend son adresse chez MES (« Appointment/<id> »)."""
    from agenda.mes import appairage_en_cours, jeton

    if message.destination != Destination.MES:
        raise Rejet(f"L'adaptateur Mon espace santé ne sert pas la destination « {message.destination} ».")
    usager = usager_qualifie(message)
    appairage = appairage_en_cours(usager)
    if appairage is None:
        raise Rejet("La personne a retiré son accord pour Mon espace santé : rien n'est envoyé.")
    identifiant = contenu.donnees["identifiant"]
    critere = f"identifier={identifiant['system']}|{identifiant['value']}"
    entetes = {"Authorization": f"Bearer {jeton(appairage)}"}
    url = f"{settings.MES_URL}/Appointment"
    if contenu.donnees["revision"] == 0:
        reponse = appeler(
            SERVICE,
            "POST",
            url,
            corps=contenu.donnees["appointment"],
            entetes={**entetes, "If-None-Exist": critere},
        )
    else:
        url = f"{url}?{quote(critere, safe='=|:')}"
        reponse = appeler(SERVICE, "PUT", url, corps=contenu.donnees["appointment"], entetes=entetes)
    try:
        return f"Appointment/{reponse.json()['id']}"
    except (ValueError, KeyError, TypeError):
        raise Rejet("Mon espace santé a répondu sans l'identifiant du rendez-vous.") from None
