"""Fournisseur de SMS du bac à sable : l'API HTTP d'un opérateur d'envoi de SMS, telle que le portail
l'appelle (`coordination/echanges/sms.py`).

    POST /v1/sms   Authorization: Bearer <clé>   {"to": "+33612345678", "text": "…", "reference": "…"}
    → 201 {"id": "sms-…", "statut": "accepte"} ; même `reference` déjà reçue → 200, même id,
      "doublon": true (le SMS n'est pas renvoyé, la réception est comptée)
    → 401 clé absente ou fausse ; 400 corps qui n'est pas un objet JSON ; 422 numéro qui n'est pas
      en E.164, texte vide ou trop long, référence absente — {"erreur": "<raison en français>"}

Pannes et contrôle : `sandbox/pair_http.py`. Lancé par `make run` :

    python -m sandbox.sms --port 8079 --cle <clé>

Jamais importé par le code de production.
"""

from __future__ import annotations

import argparse
import hmac
import json
import re
import sys
import uuid

from sandbox.pair_http import GestionnairePair, ProcessusPair, Refus, servir

CHEMIN = "/v1/sms"
CLE_PAR_DEFAUT = "cle-bac-a-sable-sms"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
# Un opérateur réel accepte plusieurs SMS concaténés ; au-delà, il refuse.
TEXTE_MAX_OPERATEUR = 918


class GestionnaireSMS(GestionnairePair):
    def traiter(self, methode: str, corps: bytes) -> tuple[int, dict]:
        if self.path.split("?")[0] != CHEMIN or methode != "POST":
            raise Refus(404, f"Adresse inconnue : {methode} {self.path[:100]}")
        autorisation = self.headers.get("Authorization", "")
        cle = autorisation.removeprefix("Bearer ").strip() if autorisation.startswith("Bearer ") else ""
        if not cle or not hmac.compare_digest(cle.encode(), self.server.options["cle"].encode()):
            raise Refus(401, "Clé d'API absente ou invalide.")
        try:
            donnees = json.loads(corps)
        except ValueError:
            raise Refus(400, "Le corps doit être un objet JSON.") from None
        if not isinstance(donnees, dict):
            raise Refus(400, "Le corps doit être un objet JSON.")
        numero, texte, reference = donnees.get("to"), donnees.get("text"), donnees.get("reference")
        if not isinstance(numero, str) or not E164.match(numero):
            raise Refus(422, f"Numéro « {str(numero)[:30]} » invalide : format E.164 attendu (+33…).")
        if not isinstance(texte, str) or not texte.strip():
            raise Refus(422, "Texte du SMS vide.")
        if len(texte) > TEXTE_MAX_OPERATEUR:
            raise Refus(422, f"Texte trop long ({len(texte)} caractères, {TEXTE_MAX_OPERATEUR} au plus).")
        if not isinstance(reference, str) or not reference.strip() or len(reference) > 200:
            raise Refus(422, "Référence absente ou trop longue (200 caractères au plus).")
        message = {"id": f"sms-{uuid.uuid4()}", "to": numero, "text": texte, "reference": reference}
        garde, doublon = self.server.etat.recevoir(reference, message)
        if doublon:
            return 200, {"id": garde["id"], "statut": "accepte", "doublon": True}
        return 201, {"id": garde["id"], "statut": "accepte"}


def fournisseur(cle: str = CLE_PAR_DEFAUT, port: int = 0) -> ProcessusPair:
    """Le fournisseur comme processus à démarrer (`.demarrer()`), avec son client de contrôle."""
    return ProcessusPair("sandbox.sms", ["--cle", cle], port=port)


def main(argv: list[str]) -> int:
    parseur = argparse.ArgumentParser(prog="python -m sandbox.sms", description="Fournisseur de SMS")
    parseur.add_argument("--hote", default="127.0.0.1")
    parseur.add_argument("--port", type=int, default=8079)
    parseur.add_argument("--cle", default=CLE_PAR_DEFAUT, help="clé d'API attendue (Bearer)")
    arguments = parseur.parse_args(argv)
    return servir(GestionnaireSMS, arguments.hote, arguments.port, cle=arguments.cle)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
