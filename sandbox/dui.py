"""Le logiciel d'une structure (DUI) qui reçoit les notifications du portail : un récepteur de
webhooks NdE (CI-SIS Notification d'événements 3.0.0, flux 4, `nde-notificationrequest`).

    POST /<chemin quelconque>   Content-Type: application/fhir+json   X-Idempotency-Key: <clé>
         [Authorization: Bearer <jeton>]   corps : CommunicationRequest
    → 200 {"id": "dui-…"} (première réception ou doublon : le même id, la réception est comptée)
    → 401 jeton absent ou faux (si le DUI en attend un) ; 400 clé d'idempotence absente ; 415 type
      de contenu ; 422 ressource invalide (fhir.resources R4B, profil NdE) — {"erreur": "<raison>"}

Ce qu'il vérifie comme le ferait un DUI : ressource CommunicationRequest valide, profil
nde-notificationrequest, basedOn (la Subscription), extension event-type, sujet contenu (Patient),
et aucun texte libre de note (`payload` : un lien seulement). Pannes et contrôle :
`sandbox/pair_http.py`.

    python -m sandbox.dui --port 8080 [--jeton <jeton>]

Jamais importé par le code de production.
"""

from __future__ import annotations

import argparse
import hmac
import json
import sys
import uuid

from fhir.resources.R4B.communicationrequest import CommunicationRequest
from pydantic import ValidationError

from sandbox.pair_http import GestionnairePair, ProcessusPair, Refus, servir

PROFIL = "https://interop.esante.gouv.fr/ig/fhir/nde/StructureDefinition/nde-notificationrequest"
EXT_TYPE = "https://interop.esante.gouv.fr/ig/fhir/nde/StructureDefinition/event-type"


def verifier(ressource: dict) -> None:
    """Lève `Refus(422)` si la CommunicationRequest n'est pas une notification NdE recevable."""
    if not isinstance(ressource, dict) or ressource.get("resourceType") != "CommunicationRequest":
        raise Refus(422, "Une ressource CommunicationRequest est attendue.")
    try:
        CommunicationRequest.model_validate(ressource)
    except ValidationError as erreur:
        raise Refus(422, f"CommunicationRequest invalide : {erreur.errors()[0]['msg'][:200]}") from None
    if PROFIL not in (ressource.get("meta") or {}).get("profile", []):
        raise Refus(422, "Profil nde-notificationrequest attendu (meta.profile).")
    if len(ressource.get("basedOn") or []) != 1:
        raise Refus(422, "basedOn : une et une seule Subscription.")
    if not any(e.get("url") == EXT_TYPE for e in ressource.get("extension", [])):
        raise Refus(422, "Extension event-type absente.")
    reference = (ressource.get("subject") or {}).get("reference", "")
    contenus = {f"#{r.get('id')}": r for r in ressource.get("contained", [])}
    if reference and contenus.get(reference, {}).get("resourceType") != "Patient":
        raise Refus(422, "subject doit désigner le Patient contenu.")
    for charge in ressource.get("payload", []):
        if "contentString" in charge:
            raise Refus(422, "payload : un lien est attendu, pas de texte libre.")


class GestionnaireDUI(GestionnairePair):
    def traiter(self, methode: str, corps: bytes) -> tuple[int, dict]:
        if methode != "POST":
            raise Refus(405, "POST attendu.")
        jeton = self.server.options.get("jeton") or ""
        if jeton:
            recu = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(recu.encode(), jeton.encode()):
                raise Refus(401, "Jeton absent ou invalide.")
        type_contenu = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if type_contenu != "application/fhir+json":
            raise Refus(415, f"Type de contenu « {type_contenu[:60]} » : application/fhir+json attendu.")
        cle = (self.headers.get("X-Idempotency-Key") or "").strip()
        if not cle:
            raise Refus(400, "En-tête X-Idempotency-Key absent.")
        try:
            ressource = json.loads(corps)
        except ValueError:
            raise Refus(400, "JSON mal formé.") from None
        verifier(ressource)
        message = {"id": f"dui-{uuid.uuid4()}", "cle": cle, "chemin": self.path, "ressource": ressource}
        garde, _doublon = self.server.etat.recevoir(cle, message)
        return 200, {"id": garde["id"]}


def recepteur(jeton: str = "", port: int = 0) -> ProcessusPair:
    """Le DUI comme processus à démarrer (`.demarrer()`), avec son client de contrôle."""
    return ProcessusPair("sandbox.dui", ["--jeton", jeton] if jeton else [], port=port)


def main(argv: list[str]) -> int:
    parseur = argparse.ArgumentParser(prog="python -m sandbox.dui", description="Récepteur de webhooks NdE")
    parseur.add_argument("--hote", default="127.0.0.1")
    parseur.add_argument("--port", type=int, default=8080)
    parseur.add_argument("--jeton", default="", help="jeton Bearer attendu (aucun si vide)")
    arguments = parseur.parse_args(argv)
    return servir(GestionnaireDUI, arguments.hote, arguments.port, jeton=arguments.jeton)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
