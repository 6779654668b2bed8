"""Outils des tests FHIR : clients logiciels avec un vrai jeton (/o/token/), appels à l'API."""

from __future__ import annotations

import json

from coordination.comptes.acteur import acteur_systeme
from coordination.comptes.logiciels import emettre_client
from tests.factories import StructureFactory

FHIR_JSON = "application/fhir+json"
ADMIN = acteur_systeme("tests FHIR")


def jeton(client, client_id: str, secret: str, portees: str | None = None) -> dict:
    donnees = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if portees is not None:
        donnees["scope"] = portees
    return client.post("/o/token/", donnees)


def logiciel(client, portees=("system/*.read", "system/*.write"), structure=None):
    """(client logiciel, jeton d'accès) pour une structure."""
    structure = structure or StructureFactory()
    client_logiciel, secret = emettre_client(
        acteur=ADMIN, structure=structure, nom="DUI de test", portees=list(portees)
    )
    reponse = jeton(client, client_logiciel.application.client_id, secret)
    assert reponse.status_code == 200, reponse.content
    return client_logiciel, reponse.json()["access_token"]


def appel(client, methode: str, chemin: str, jeton_acces: str | None = None, corps=None, **en_tetes):
    """Appel de l'API ; `corps` : dict (JSON FHIR), ou texte brut envoyé tel quel."""
    if jeton_acces:
        en_tetes["HTTP_AUTHORIZATION"] = f"Bearer {jeton_acces}"
    kwargs = dict(en_tetes)
    if corps is not None:
        kwargs["data"] = corps if isinstance(corps, str | bytes) else json.dumps(corps)
        kwargs.setdefault("content_type", FHIR_JSON)
    return getattr(client, methode.lower())(chemin, **kwargs)


def oo(reponse, statut: int) -> dict:
    """Vérifie une réponse d'erreur : statut, type FHIR JSON, OperationOutcome avec un diagnostic."""
    assert reponse.status_code == statut, (reponse.status_code, reponse.content[:500])
    assert reponse["Content-Type"].startswith(FHIR_JSON)
    contenu = reponse.json()
    assert contenu["resourceType"] == "OperationOutcome"
    assert contenu["issue"] and all(i.get("diagnostics") for i in contenu["issue"])
    return contenu
