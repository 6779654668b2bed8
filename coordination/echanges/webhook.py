"""Adaptateur « webhook » : remet une notification NdE (CommunicationRequest rebâtie par
`notifications.abonnements.construire`) au logiciel d'une structure abonnée.

`POST <channel.endpoint>` en `application/fhir+json`, avec les en-têtes de l'abonnement
(`channel.header`, leur authentification) et `X-Idempotency-Key` = la clé du message : un envoi
répété n'est traité qu'une fois par le destinataire. Pas de redirection suivie (l'adresse est celle
que l'abonné a déclarée, vérifiée à la souscription et relue ici).

Erreurs : pas de réponse, délai dépassé, 408, 429, 5xx, 401/403 (le jeton de l'abonné se corrige de
son côté : les messages attendent) → `PairIndisponible` ; autre 4xx ou 3xx → `Rejet` avec la raison
lue dans la réponse. Rend l'`id` de la réponse JSON, l'en-tête Location, ou « HTTP <statut> »."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from django.conf import settings

from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.sessions import session

if TYPE_CHECKING:
    from coordination.echanges.contenus import Contenu
    from coordination.echanges.models import MessageSortant


def _raison(reponse: requests.Response) -> str:
    try:
        donnees = reponse.json()
    except ValueError:
        return reponse.text[:300]
    if isinstance(donnees, dict):
        if donnees.get("resourceType") == "OperationOutcome":
            return " ; ".join(i.get("diagnostics", "") for i in donnees.get("issue", []))[:300]
        return str(donnees.get("erreur") or donnees.get("error") or donnees)[:300]
    return ""


def _adresse_permise(adresse: str) -> bool:
    morceaux = urlsplit(adresse)
    if morceaux.scheme == "https":
        return bool(morceaux.hostname)
    local = (morceaux.hostname or "") in {"localhost", "127.0.0.1", "::1"}
    return morceaux.scheme == "http" and local and settings.WEBHOOKS_HTTP_LOCAL


def envoyer(message: MessageSortant, contenu: Contenu) -> str:
    """POST de la notification ; rend l'identifiant donné par le destinataire."""
    adresse = contenu.donnees.get("endpoint") or message.destinataire
    if not _adresse_permise(adresse):
        raise Rejet(f"Webhook non envoyé : adresse « {adresse[:100]} » non permise (https:// attendu).")
    en_tetes = {}
    for ligne in contenu.donnees.get("en_tetes", []):
        nom, _, valeur = ligne.partition(":")
        en_tetes[nom.strip()] = valeur.strip()
    en_tetes.update(
        {
            "Content-Type": "application/fhir+json",
            "Accept": "application/fhir+json, application/json",
            "X-Idempotency-Key": message.cle_idempotence,
        }
    )
    corps = json.dumps(contenu.donnees["ressource"], ensure_ascii=False).encode()
    try:
        reponse = session().post(
            adresse,
            data=corps,
            headers=en_tetes,
            timeout=settings.WEBHOOKS_DELAI_SECONDES,
            allow_redirects=False,
        )
    except requests.Timeout:
        raise PairIndisponible("Webhook : pas de réponse dans le délai.") from None
    except requests.RequestException as erreur:
        raise PairIndisponible(f"Webhook : destinataire injoignable ({type(erreur).__name__}).") from None
    statut = reponse.status_code
    if statut in (401, 403, 408, 429) or statut >= 500:
        raise PairIndisponible(f"Webhook : le destinataire répond HTTP {statut} ({_raison(reponse)}).")
    if statut >= 300:
        raise Rejet(f"Webhook refusé par le destinataire (HTTP {statut}) : {_raison(reponse)}")
    try:
        donnees = reponse.json()
    except ValueError:
        donnees = None
    if isinstance(donnees, dict) and donnees.get("id"):
        return str(donnees["id"])[:200]
    return (reponse.headers.get("Location") or f"HTTP {statut}")[:200]
