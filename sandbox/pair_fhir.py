"""Pair FHIR du bac à sable : un serveur HTTP qui joue le DMP (`/dmp/fhir`, dépôt PDSm ITI-65) et
Mon espace santé (`/mes/fhir`, agenda en Appointment, jeton d'appariement par personne).

Il vérifie ce qu'il reçoit comme le ferait le service réel (ADR 0034) : structure FHIR R4 lue par
`fhir.resources` (module R4B, comme l'API du portail), puis les règles de profil qui comptent —
lot ITI-65 (transaction, identifiant, List SubmissionSet, DocumentReference avec gardien, date,
auteur, pièce jointe dont taille, SHA-1 et titre correspondent au Binary, début de la période de
soins, patient désigné par son matricule INS et l'OID de l'INS ; un remplacement `relatesTo`
« replaces » vise un document existant du même patient, qui passe « superseded ») ; Appointment
(statut, début et fin, un participant Patient identifié par l'INS). Refus : OperationOutcome en
français, HTTP 4xx. Mon espace santé exige le jeton d'appariement (`Authorization: Bearer`) et ne
laisse un jeton toucher que la personne pour laquelle il a été donné.

Idempotence : le DMP dédoublonne sur `Bundle.identifier`, Mon espace santé sur l'identifiant de
l'Appointment (création conditionnelle `If-None-Exist: identifier=système|valeur`, mise à jour
conditionnelle `PUT Appointment?identifier=…`) ; chaque réception est comptée par clé.

L'appariement (`POST /mes/appariement`, matricule → jeton) tient lieu de l'API Appariement v2.1,
où la personne donne son accord dans Mon espace santé (OAuth 2) : ici, le jeton est rendu tout de
suite. Pannes commandées par `/_controle/mode` (503, lenteur, connexion coupée sans réponse).
État gardé dans `DOSSIER/etat.json` (survit à un redémarrage sur le même port) ;
`/_controle/recus` le lit.

    python -m sandbox.pair_fhir --port 8074 --dossier .run/pair-fhir

Jamais importé par le code de production."""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

OIDS_INS = ("1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11")
SYSTEMES_INS = tuple(f"urn:oid:{oid}" for oid in OIDS_INS)
SYSTEME_TYPES_LISTE = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
# Identifiants des rendez-vous saisis par la personne dans Mon espace santé (bac à sable).
SYSTEME_MES = "https://monespacesante.fr/agenda"
DELAI_DEMARRAGE = 30.0
STATUTS_RENDEZ_VOUS = ("proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
                       "entered-in-error", "checked-in", "waitlist")  # fmt: skip


class Refus(Exception):
    """Ressource refusée : statut HTTP et raison en français (reprise dans l'OperationOutcome)."""

    def __init__(self, statut: int, raison: str, code: str = "invalid") -> None:
        super().__init__(raison)
        self.statut = statut
        self.raison = raison
        self.code = code


def issue(raison: str, code: str = "invalid", gravite: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": gravite, "code": code, "diagnostics": raison}],
    }


def _valider_structure(ressource: dict, type_attendu: str) -> None:
    """Structure FHIR R4 (fhir.resources, module R4B) ; la première erreur, en clair."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    if not isinstance(ressource, dict) or ressource.get("resourceType") != type_attendu:
        raise Refus(400, f"Ressource attendue : {type_attendu}.")
    try:
        get_fhir_model_class(type_attendu).model_validate(ressource)
    except ValidationError as exc:
        erreur = exc.errors()[0]
        chemin = ".".join(str(p) for p in erreur.get("loc", ()))
        raise Refus(400, f"{type_attendu} invalide ({chemin or 'racine'}) : {erreur.get('msg')}.") from None


def _ins(identifiant: dict | None, ou: str) -> tuple[str, str]:
    """(système, matricule) d'un identifiant INS ; Refus sinon."""
    identifiant = identifiant or {}
    systeme, valeur = identifiant.get("system", ""), identifiant.get("value", "")
    if systeme not in SYSTEMES_INS:
        raise Refus(422, f"{ou} : le patient doit être désigné par son INS (système urn:oid de l'INS).")
    if not (len(valeur) == 15 and valeur.isdigit()):
        raise Refus(422, f"{ou} : le matricule INS doit compter 15 chiffres.")
    return systeme, valeur


# --- État ----------------------------------------------------------------------------------------


class Etat:
    """Ce que le pair a reçu, gardé en mémoire et écrit dans `etat.json` à chaque changement."""

    def __init__(self, dossier: Path) -> None:
        self.fichier = dossier / "etat.json"
        self.verrou = threading.Lock()
        self.mode = "normal"
        self.delai = 0.0
        self.donnees = self._vide()
        if self.fichier.exists():
            self.donnees = {**self._vide(), **json.loads(self.fichier.read_text())}

    @staticmethod
    def _vide() -> dict:
        return {"documents": {}, "lots": {}, "rendez_vous": {}, "jetons": {}, "receptions": {}}

    def ecrire(self) -> None:
        temporaire = self.fichier.with_suffix(".tmp")
        temporaire.write_text(json.dumps(self.donnees, ensure_ascii=False))
        temporaire.replace(self.fichier)

    def recu(self, cle: str) -> None:
        self.donnees["receptions"][cle] = self.donnees["receptions"].get(cle, 0) + 1


# --- DMP : ITI-65 --------------------------------------------------------------------------------


def _binaires(lot: dict) -> dict[str, dict]:
    return {
        e.get("fullUrl", ""): e["resource"]
        for e in lot.get("entry", [])
        if e.get("resource", {}).get("resourceType") == "Binary"
    }


def _verifier_document(ref: dict, binaires: dict[str, dict], patient: tuple[str, str], ou: str) -> None:
    for champ, nom in (("custodian", "gardien (custodian)"), ("date", "date"), ("author", "auteur (author)")):
        if not ref.get(champ):
            raise Refus(422, f"{ou} : {nom} manquant.", "required")
    if not (ref.get("masterIdentifier") or {}).get("value"):
        raise Refus(422, f"{ou} : identifiant unique du document (masterIdentifier) manquant.", "required")
    if not ((ref.get("context") or {}).get("period") or {}).get("start"):
        raise Refus(422, f"{ou} : début de la prise en charge (context.period.start) manquant.", "required")
    if _ins((ref.get("subject") or {}).get("identifier"), ou) != patient:
        raise Refus(422, f"{ou} : le patient du document diffère de celui du lot.")
    contenus = ref.get("content") or []
    if len(contenus) != 1:
        raise Refus(422, f"{ou} : un seul contenu (content) est attendu.")
    piece = contenus[0].get("attachment") or {}
    for champ, nom in (("size", "taille"), ("hash", "empreinte SHA-1"), ("title", "titre")):
        if not piece.get(champ):
            raise Refus(422, f"{ou} : {nom} de la pièce jointe manquante.", "required")
    binaire = binaires.get(piece.get("url", ""))
    if binaire is None:
        raise Refus(422, f"{ou} : la pièce jointe ne désigne aucun Binary du lot.")
    octets = base64.b64decode(binaire.get("data", ""))
    if binaire.get("contentType") != piece.get("contentType"):
        raise Refus(422, f"{ou} : le type du Binary diffère de celui de la pièce jointe.")
    if len(octets) != piece["size"]:
        raise Refus(422, f"{ou} : la taille déclarée ({piece['size']}) diffère du Binary ({len(octets)}).")
    if base64.b64encode(hashlib.sha1(octets, usedforsecurity=False).digest()).decode() != piece["hash"]:
        raise Refus(422, f"{ou} : l'empreinte SHA-1 déclarée ne correspond pas au Binary.")


def deposer(etat: Etat, lot: dict) -> tuple[int, dict]:
    """Lot ITI-65 : vérifie tout, puis range ; un lot déjà reçu (même Bundle.identifier) rend la
    réponse du premier dépôt sans rien ranger de plus."""
    cle = (lot.get("identifier") or {}).get("value", "") if isinstance(lot, dict) else ""
    with etat.verrou:
        if cle:
            etat.recu(cle)
            if cle in etat.donnees["lots"]:
                etat.ecrire()
                return 200, etat.donnees["lots"][cle]
        try:
            reponse = _deposer(etat, lot, cle)
        finally:
            etat.ecrire()
        return 200, reponse


def _deposer(etat: Etat, lot: dict, cle: str) -> dict:
    _valider_structure(lot, "Bundle")
    if lot.get("type") != "transaction":
        raise Refus(422, "Un lot ITI-65 est un Bundle de type « transaction ».")
    if not cle:
        raise Refus(422, "Le lot doit porter un identifiant (Bundle.identifier) : il sert au dédoublonnage.")
    ressources = [e.get("resource", {}) for e in lot.get("entry", [])]
    listes = [r for r in ressources if r.get("resourceType") == "List"]
    lots_soumis = [
        liste
        for liste in listes
        if any(c.get("code") == "submissionset" for c in (liste.get("code") or {}).get("coding", []))
    ]
    if len(lots_soumis) != 1:
        raise Refus(422, "Le lot doit contenir exactement une List SubmissionSet (code « submissionset »).")
    patient = _ins((lots_soumis[0].get("subject") or {}).get("identifier"), "SubmissionSet")
    references = [r for r in ressources if r.get("resourceType") == "DocumentReference"]
    if not references:
        raise Refus(422, "Le lot doit contenir au moins une DocumentReference.")
    binaires = _binaires(lot)
    documents = etat.donnees["documents"]
    a_remplacer = []
    for rang, ref in enumerate(references):
        ou = f"DocumentReference n° {rang + 1}"
        _verifier_document(ref, binaires, patient, ou)
        identifiant = ref["masterIdentifier"]["value"]
        if identifiant in documents:
            raise Refus(409, f"{ou} : le document {identifiant} est déjà au DMP.", "duplicate")
        for lien in ref.get("relatesTo") or []:
            if lien.get("code") != "replaces":
                raise Refus(422, f"{ou} : seul le lien « replaces » est accepté.")
            cible = ((lien.get("target") or {}).get("identifier") or {}).get("value", "")
            ancien = documents.get(cible)
            if ancien is None or (ancien["systeme_ins"], ancien["matricule"]) != patient:
                raise Refus(
                    422, f"{ou} : le document remplacé ({cible}) est introuvable au DMP de ce patient."
                )
            if ancien["statut"] != "current":
                raise Refus(422, f"{ou} : le document remplacé ({cible}) a déjà été remplacé.")
            a_remplacer.append(cible)
    entrees = []
    for ref in references:
        piece = ref["content"][0]["attachment"]
        identifiant_local = str(uuid.uuid4())
        documents[ref["masterIdentifier"]["value"]] = {
            "id": identifiant_local, "statut": "current", "systeme_ins": patient[0], "matricule": patient[1],
            "titre": piece["title"], "taille": piece["size"], "sha1": piece["hash"],
            "type_mime": piece.get("contentType", ""), "lot": cle, "date": ref["date"],
            "type": ref.get("type"),
        }  # fmt: skip
        entrees.append(
            {"response": {"status": "201 Created", "location": f"DocumentReference/{identifiant_local}"}}
        )
    for cible in a_remplacer:
        documents[cible]["statut"] = "superseded"
    reponse = {"resourceType": "Bundle", "type": "transaction-response", "entry": entrees}
    etat.donnees["lots"][cle] = reponse
    return reponse


# --- Mon espace santé : appariement et agenda ---------------------------------------------------


def apparier(etat: Etat, demande: dict) -> tuple[int, dict]:
    """Stand-in de l'API Appariement v2.1 : un jeton pour un matricule INS (l'accord donné dans
    Mon espace santé est supposé)."""
    systeme, matricule = _ins(
        {"system": f"urn:oid:{demande.get('oid', '')}", "value": demande.get("matricule", "")}, "Appariement"
    )
    jeton = secrets.token_urlsafe(24)
    with etat.verrou:
        etat.donnees["jetons"][jeton] = {"systeme_ins": systeme, "matricule": matricule}
        etat.ecrire()
    return 201, {"jeton": jeton}


def _titulaire(etat: Etat, entetes) -> dict:
    autorisation = entetes.get("Authorization", "")
    if not autorisation.startswith("Bearer "):
        raise Refus(401, "Jeton d'appariement manquant (Authorization: Bearer).", "login")
    titulaire = etat.donnees["jetons"].get(autorisation.removeprefix("Bearer ").strip())
    if titulaire is None:
        raise Refus(401, "Jeton d'appariement inconnu ou révoqué.", "login")
    return titulaire


def _identifiant_conditionnel(critere: str) -> tuple[str, str]:
    """« identifier=système|valeur » → (système, valeur)."""
    nom, _, valeur = critere.partition("=")
    systeme, barre, code = unquote(valeur).partition("|")
    if nom.strip() != "identifier" or not barre or not systeme or not code:
        raise Refus(400, "Critère conditionnel attendu : identifier=système|valeur.")
    return systeme, code


def _verifier_rendez_vous(rdv: dict, titulaire: dict) -> None:
    _valider_structure(rdv, "Appointment")
    if rdv.get("status") not in STATUTS_RENDEZ_VOUS:  # liaison « required » de FHIR R4
        raise Refus(422, f"Statut de rendez-vous inconnu : « {rdv.get('status')} ».", "code-invalid")
    if not rdv.get("start") or not rdv.get("end"):
        raise Refus(422, "Un rendez-vous de Mon espace santé a un début et une fin (start, end).", "required")
    patients = [
        p["actor"]
        for p in rdv.get("participant", [])
        if (p.get("actor") or {}).get("type") == "Patient" or (p.get("actor") or {}).get("identifier")
    ]
    if not patients:
        raise Refus(
            422, "Le rendez-vous doit avoir un participant Patient identifié par son INS.", "required"
        )
    systeme, matricule = _ins(patients[0].get("identifier"), "Participant Patient")
    if (systeme, matricule) != (titulaire["systeme_ins"], titulaire["matricule"]):
        raise Refus(403, "Ce jeton ne donne accès qu'à l'agenda de la personne qui l'a donné.", "forbidden")
    if not rdv.get("identifier"):
        raise Refus(422, "Le rendez-vous doit porter un identifiant (identifier).", "required")


def _trouver(etat: Etat, systeme: str, valeur: str) -> dict | None:
    for rdv in etat.donnees["rendez_vous"].values():
        if any(
            i.get("system") == systeme and i.get("value") == valeur for i in rdv["ressource"]["identifier"]
        ):
            return rdv
    return None


def _ranger(etat: Etat, rdv: dict, titulaire: dict, existant: dict | None) -> dict:
    if existant is None:
        existant = {"id": str(uuid.uuid4()), "versions": [], **titulaire}
        etat.donnees["rendez_vous"][existant["id"]] = existant
    version = len(existant["versions"]) + 1
    ressource = {**rdv, "id": existant["id"], "meta": {**rdv.get("meta", {}), "versionId": str(version)}}
    existant["ressource"] = ressource
    existant["versions"].append(
        {"status": rdv.get("status"), "start": rdv.get("start"), "end": rdv.get("end")}
    )
    return ressource


def ecrire_rendez_vous(etat: Etat, methode: str, requete, rdv: dict) -> tuple[int, dict]:
    """POST (création, conditionnelle si `If-None-Exist`) ou PUT conditionnel `?identifier=`."""
    with etat.verrou:
        titulaire = _titulaire(etat, requete.headers)
        if methode == "POST":
            condition = requete.headers.get("If-None-Exist", "")
        else:
            condition = urlsplit(requete.path).query
            if not condition:
                raise Refus(
                    400, "Mise à jour : seule la forme conditionnelle Appointment?identifier=… est admise."
                )
        systeme, valeur = _identifiant_conditionnel(condition) if condition else ("", "")
        cle = f"{systeme}|{valeur}" if condition else ""
        if cle:
            etat.recu(cle)
        try:
            existant = _trouver(etat, systeme, valeur) if cle else None
            if existant is not None and (existant["systeme_ins"], existant["matricule"]) != (
                titulaire["systeme_ins"],
                titulaire["matricule"],
            ):
                raise Refus(
                    403, "Ce jeton ne donne accès qu'à l'agenda de la personne qui l'a donné.", "forbidden"
                )
            if methode == "POST" and existant is not None:
                return 200, existant["ressource"]
            _verifier_rendez_vous(rdv, titulaire)
            if cle and not any(
                i.get("system") == systeme and i.get("value") == valeur for i in rdv["identifier"]
            ):
                raise Refus(400, "L'identifiant du critère conditionnel doit figurer dans la ressource.")
            ressource = _ranger(etat, rdv, titulaire, existant)
            return (201 if existant is None else 200), ressource
        finally:
            etat.ecrire()


def chercher_rendez_vous(etat: Etat, requete) -> tuple[int, dict]:
    """Les rendez-vous (version courante) de la personne du jeton, en Bundle searchset."""
    with etat.verrou:
        titulaire = _titulaire(etat, requete.headers)
        trouves = [
            r["ressource"]
            for r in etat.donnees["rendez_vous"].values()
            if (r["systeme_ins"], r["matricule"]) == (titulaire["systeme_ins"], titulaire["matricule"])
        ]
    return 200, {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(trouves),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in trouves],
    }


# --- HTTP ----------------------------------------------------------------------------------------


class Gestionnaire(BaseHTTPRequestHandler):
    etat: Etat
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # noqa: A002 — journal discret
        return

    def _repondre(self, statut: int, corps: dict, entetes: dict | None = None) -> None:
        octets = json.dumps(corps, ensure_ascii=False).encode()
        self.send_response(statut)
        type_contenu = "application/json" if self.path.startswith("/_controle") else "application/fhir+json"
        self.send_header("Content-Type", f"{type_contenu}; charset=utf-8")
        self.send_header("Content-Length", str(len(octets)))
        for nom, valeur in (entetes or {}).items():
            self.send_header(nom, valeur)
        self.end_headers()
        self.wfile.write(octets)

    def _corps(self) -> dict:
        longueur = int(self.headers.get("Content-Length") or 0)
        brut = self.rfile.read(longueur) if longueur else b""
        try:
            return json.loads(brut or b"{}")
        except ValueError:
            raise Refus(400, "Corps illisible : JSON attendu.", "structure") from None

    def _traiter(self, methode: str) -> None:
        chemin = urlsplit(self.path).path.rstrip("/")
        try:
            if chemin.startswith("/_controle"):
                self._repondre(*self._controle(methode, chemin))
                return
            corps = self._corps() if methode in ("POST", "PUT") else {}
            if self.etat.mode == "panne":
                self._repondre(
                    503, issue("Service momentanément indisponible.", "transient"), {"Retry-After": "1"}
                )
                return
            if self.etat.mode == "lent":
                time.sleep(self.etat.delai)
            if self.etat.mode == "coupure":  # RST : la requête est lue, aucune réponse ne part
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            self._repondre(*self._fhir(methode, chemin, corps))
        except Refus as refus:
            self._repondre(refus.statut, issue(refus.raison, refus.code))

    def _fhir(self, methode: str, chemin: str, corps: dict) -> tuple[int, dict]:
        if (methode, chemin) == ("POST", "/dmp/fhir"):
            return deposer(self.etat, corps)
        if (methode, chemin) == ("POST", "/mes/appariement"):
            return apparier(self.etat, corps)
        if chemin == "/mes/fhir/Appointment" and methode in ("POST", "PUT"):
            return ecrire_rendez_vous(self.etat, methode, self, corps)
        if (methode, chemin) == ("GET", "/mes/fhir/Appointment"):
            return chercher_rendez_vous(self.etat, self)
        raise Refus(404, f"Pas d'interaction {methode} {chemin} sur ce serveur.", "not-supported")

    def _controle(self, methode: str, chemin: str) -> tuple[int, dict]:
        etat = self.etat
        if (methode, chemin) == ("GET", "/_controle/etat"):
            return 200, {"mode": etat.mode, "delai": etat.delai}
        if (methode, chemin) == ("GET", "/_controle/recus"):
            with etat.verrou:
                return 200, {c: v for c, v in etat.donnees.items() if c != "jetons"}
        if (methode, chemin) == ("POST", "/_controle/mode"):
            demande = self._corps()
            if demande.get("mode") not in ("normal", "panne", "lent", "coupure"):
                raise Refus(400, "Mode attendu : normal, panne, lent ou coupure.")
            etat.mode, etat.delai = demande["mode"], float(demande.get("delai") or 0)
            return 200, {"mode": etat.mode, "delai": etat.delai}
        if (methode, chemin) == ("POST", "/_controle/reinitialiser"):
            with etat.verrou:
                etat.donnees = etat._vide()
                etat.mode, etat.delai = "normal", 0.0
                etat.ecrire()
            return 200, {}
        raise Refus(404, f"Pas de commande {methode} {chemin}.", "not-supported")

    def do_GET(self) -> None:  # noqa: N802
        self._traiter("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._traiter("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._traiter("PUT")


def servir(port: int, dossier: Path) -> ThreadingHTTPServer:
    dossier.mkdir(parents=True, exist_ok=True)
    gestionnaire = type("GestionnairePair", (Gestionnaire,), {"etat": Etat(dossier)})
    return ThreadingHTTPServer(("127.0.0.1", port), gestionnaire)


# --- Client pour les tests -----------------------------------------------------------------------


@dataclass
class PairFHIR:
    """Le pair lancé comme processus enfant ; `arreter()`, `redemarrer()` (même port, même état)."""

    dossier: Path
    port: int
    processus: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url_dmp(self) -> str:
        return f"{self.url}/dmp/fhir"

    @property
    def url_mes(self) -> str:
        return f"{self.url}/mes/fhir"

    @classmethod
    def demarrer(cls, dossier: Path, port: int | None = None) -> PairFHIR:
        from sandbox.stack import _free_port

        pair = cls(Path(dossier), port or _free_port())
        pair._lancer()
        return pair

    def _lancer(self) -> None:
        from sandbox.stack import _die_with_parent

        self.dossier.mkdir(parents=True, exist_ok=True)
        journal = open(self.dossier / "pair_fhir.log", "ab")  # noqa: SIM115
        commande = [
            sys.executable,
            "-m",
            "sandbox.pair_fhir",
            "--port",
            str(self.port),
            "--dossier",
            str(self.dossier),
        ]
        self.processus = subprocess.Popen(
            commande, stdout=journal, stderr=journal, stdin=subprocess.DEVNULL,
            cwd=Path(__file__).resolve().parent.parent, preexec_fn=_die_with_parent,  # noqa: PLW1509
        )  # fmt: skip
        journal.close()
        echeance = time.monotonic() + DELAI_DEMARRAGE
        while time.monotonic() < echeance:
            if self.processus.poll() is not None:
                raise RuntimeError(
                    f"Le pair FHIR s'est arrêté au démarrage ; voir {self.dossier}/pair_fhir.log"
                )
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.url}/_controle/etat", timeout=0.5).raise_for_status()
                return
            time.sleep(0.05)
        self.arreter()
        raise RuntimeError(f"Le pair FHIR n'a pas répondu en {DELAI_DEMARRAGE:.0f} s.")

    def arreter(self) -> None:
        processus, self.processus = self.processus, None
        if processus is None:
            return
        if processus.poll() is None:
            processus.terminate()
        try:
            processus.wait(10)
        except subprocess.TimeoutExpired:
            processus.kill()
            processus.wait()

    def redemarrer(self) -> None:
        self.arreter()
        self._lancer()

    def recus(self) -> dict:
        return requests.get(f"{self.url}/_controle/recus", timeout=5).json()

    def receptions(self, cle: str) -> int:
        return self.recus()["receptions"].get(cle, 0)

    def regler(self, mode: str, delai: float = 0.0) -> None:
        requests.post(
            f"{self.url}/_controle/mode", json={"mode": mode, "delai": delai}, timeout=5
        ).raise_for_status()

    def reinitialiser(self) -> None:
        requests.post(f"{self.url}/_controle/reinitialiser", timeout=5).raise_for_status()

    def apparier(self, matricule: str, oid: str) -> str:
        reponse = requests.post(
            f"{self.url}/mes/appariement", json={"matricule": matricule, "oid": oid}, timeout=5
        )
        reponse.raise_for_status()
        return reponse.json()["jeton"]

    def saisir_dans_mes(self, jeton: str, rendez_vous: dict) -> dict:
        """Un rendez-vous que la personne note elle-même dans Mon espace santé."""
        reponse = requests.post(
            f"{self.url_mes}/Appointment",
            json=rendez_vous,
            timeout=5,
            headers={"Authorization": f"Bearer {jeton}"},
        )
        reponse.raise_for_status()
        return reponse.json()


def _interrompre(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parseur = argparse.ArgumentParser(prog="python -m sandbox.pair_fhir", description=__doc__.splitlines()[0])
    parseur.add_argument("--port", type=int, required=True)
    parseur.add_argument("--dossier", type=Path, required=True)
    arguments = parseur.parse_args(argv)
    serveur = servir(arguments.port, arguments.dossier)
    signal.signal(signal.SIGTERM, _interrompre)
    print(f"Pair FHIR (DMP et Mon espace santé) prêt : http://127.0.0.1:{arguments.port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        serveur.serve_forever()
    serveur.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
