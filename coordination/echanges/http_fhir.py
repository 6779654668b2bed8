"""Appel HTTP d'un serveur FHIR distant (DMP, Mon espace santé) et traduction de ses réponses en
issues d'envoi (ADR 0034) : connexion refusée, délai dépassé, HTTP 429 ou 5xx → `PairIndisponible`
(on retente) ; autre HTTP 4xx → `Rejet`, avec le texte de l'OperationOutcome du pair."""

from __future__ import annotations

import requests
from django.conf import settings

from coordination.echanges.erreurs import PairIndisponible, Rejet

TYPE_FHIR = "application/fhir+json"


def diagnostic(reponse: requests.Response) -> str:
    """Le texte des problèmes d'une OperationOutcome (ou le début du corps s'il n'en est pas une)."""
    try:
        corps = reponse.json()
    except ValueError:
        return reponse.text[:300]
    if isinstance(corps, dict) and corps.get("resourceType") == "OperationOutcome":
        textes = [
            i.get("diagnostics") or (i.get("details") or {}).get("text", "") for i in corps.get("issue", [])
        ]
        return " ; ".join(t for t in textes if t)
    return ""


def appeler(service: str, methode: str, url: str, *, corps=None, entetes=None) -> requests.Response:
    """Une requête FHIR JSON ; rend la réponse 2xx, lève `PairIndisponible` ou `Rejet` sinon.
    `service` nomme le pair dans les messages (« le DMP », « Mon espace santé »)."""
    entetes = {
        "Accept": TYPE_FHIR,
        **({"Content-Type": TYPE_FHIR} if corps is not None else {}),
        **(entetes or {}),
    }
    try:
        reponse = requests.request(
            methode, url, json=corps, headers=entetes, timeout=settings.ECHANGES_FHIR_DELAI_SECONDES
        )
    except requests.Timeout as exc:
        raise PairIndisponible(
            f"{service} n'a pas répondu dans le délai de {settings.ECHANGES_FHIR_DELAI_SECONDES:g} s."
        ) from exc
    except requests.RequestException as exc:
        raise PairIndisponible(f"{service} est injoignable ({type(exc).__name__}).") from exc
    statut = reponse.status_code
    if statut < 300:
        return reponse
    texte = diagnostic(reponse)
    precision = f" : {texte}" if texte else "."
    if statut == 429 or statut >= 500:
        raise PairIndisponible(f"{service} est momentanément indisponible (HTTP {statut}){precision}")
    raise Rejet(f"{service} a refusé l'envoi (HTTP {statut}){precision}")
