"""Socle des pairs HTTP du bac à sable (fournisseur de SMS `sandbox/sms.py`, DUI `sandbox/dui.py`) :
un serveur `http.server` à fils, un état partagé (messages gardés, réceptions comptées par clé
d'idempotence, mode de panne), un canal de contrôle et le client Python des tests.

Canal de contrôle (sous `/_bac_a_sable/`, sans authentification : le pair n'écoute que sur
127.0.0.1) :
- `GET  /_bac_a_sable/messages` : les messages gardés (un par clé), dans l'ordre d'arrivée ;
- `GET  /_bac_a_sable/receptions` : {clé: nombre de réceptions, doublons compris} ;
- `POST /_bac_a_sable/panne` {"mode": "echec"|"lent"|"coupure"|"", "statut": 503, "delai": 2,
  "nombre": N} : les N requêtes suivantes (toutes si N absent) échouent avec `statut`, attendent
  `delai` secondes, ou voient la connexion coupée sans réponse ; mode vide : plus de panne ;
- `POST /_bac_a_sable/vider` : oublie messages, réceptions et panne.

Jamais importé par le code de production.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from sandbox.stack import _die_with_parent, _free_port

PREFIXE_CONTROLE = "/_bac_a_sable/"
MODES_PANNE = ("", "echec", "lent", "coupure")
DELAI_DEMARRAGE = 20.0


class Refus(Exception):  # noqa: N818 - nom métier
    """Réponse d'erreur du pair : statut HTTP et raison (en français), comme le service réel."""

    def __init__(self, statut: int, raison: str) -> None:
        super().__init__(raison)
        self.statut = statut
        self.raison = raison


@dataclass
class EtatPair:
    """Ce que le pair a reçu. Protégé par un verrou : le serveur répond sur plusieurs fils."""

    messages: dict[str, dict] = field(default_factory=dict)
    receptions: dict[str, int] = field(default_factory=dict)
    panne: dict[str, Any] = field(default_factory=lambda: {"mode": ""})
    verrou: threading.Lock = field(default_factory=threading.Lock)

    def recevoir(self, cle: str, message: dict) -> tuple[dict, bool]:
        """Compte une réception de `cle` ; garde `message` la première fois. Rend (message gardé,
        doublon ?)."""
        with self.verrou:
            self.receptions[cle] = self.receptions.get(cle, 0) + 1
            if cle in self.messages:
                return self.messages[cle], True
            self.messages[cle] = message
            return message, False

    def panne_en_cours(self) -> dict | None:
        """La panne à appliquer à cette requête (et décompte des requêtes touchées), ou None."""
        with self.verrou:
            panne = dict(self.panne)
            if not panne.get("mode"):
                return None
            if panne.get("nombre") is not None:
                if panne["nombre"] <= 0:
                    self.panne = {"mode": ""}
                    return None
                self.panne["nombre"] -= 1
            return panne

    def vider(self) -> None:
        with self.verrou:
            self.messages.clear()
            self.receptions.clear()
            self.panne = {"mode": ""}


class GestionnairePair(BaseHTTPRequestHandler):
    """Requêtes du pair : le contrôle, puis `traiter` (à fournir) pour le service lui-même."""

    protocol_version = "HTTP/1.1"
    server: ServeurPair

    def log_message(self, format, *args):  # noqa: A002 - signature de http.server
        return

    # -- à fournir -------------------------------------------------------------------------------

    def traiter(self, methode: str, corps: bytes) -> tuple[int, dict]:
        """Le service : rend (statut, JSON de réponse) ou lève `Refus`."""
        raise Refus(404, f"Adresse inconnue : {self.path}")

    # -- commun ----------------------------------------------------------------------------------

    def do_GET(self):  # noqa: N802
        self._repondre_a("GET")

    def do_POST(self):  # noqa: N802
        self._repondre_a("POST")

    def _corps(self) -> bytes:
        longueur = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(longueur) if longueur else b""

    def _envoyer(self, statut: int, contenu: dict, type_contenu: str = "application/json") -> None:
        octets = json.dumps(contenu, ensure_ascii=False).encode()
        self.send_response(statut)
        self.send_header("Content-Type", f"{type_contenu}; charset=utf-8")
        self.send_header("Content-Length", str(len(octets)))
        self.end_headers()
        self.wfile.write(octets)

    def _couper(self) -> None:
        """Coupe la connexion sans réponse (RST) : ce que voit un client quand le service tombe."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()

    def _repondre_a(self, methode: str) -> None:
        corps = self._corps()
        etat = self.server.etat
        if self.path.startswith(PREFIXE_CONTROLE):
            self._controle(methode, self.path.removeprefix(PREFIXE_CONTROLE), corps)
            return
        panne = etat.panne_en_cours()
        if panne is not None:
            if panne["mode"] == "coupure":
                self._couper()
                return
            if panne["mode"] == "lent":
                time.sleep(float(panne.get("delai", 2)))
            elif panne["mode"] == "echec":
                statut = int(panne.get("statut", 503))
                self._envoyer(statut, {"erreur": f"Service indisponible (panne simulée, HTTP {statut})."})
                return
        try:
            statut, reponse = self.traiter(methode, corps)
        except Refus as refus:
            self._envoyer(refus.statut, {"erreur": refus.raison})
            return
        self._envoyer(statut, reponse)

    def _controle(self, methode: str, chemin: str, corps: bytes) -> None:
        etat = self.server.etat
        if methode == "GET" and chemin == "messages":
            with etat.verrou:
                self._envoyer(200, {"messages": list(etat.messages.values())})
        elif methode == "GET" and chemin == "receptions":
            with etat.verrou:
                self._envoyer(200, {"receptions": dict(etat.receptions)})
        elif methode == "POST" and chemin == "panne":
            try:
                panne = json.loads(corps or b"{}")
            except ValueError:
                self._envoyer(400, {"erreur": "JSON attendu."})
                return
            if not isinstance(panne, dict) or panne.get("mode", "") not in MODES_PANNE:
                self._envoyer(400, {"erreur": f"mode parmi {MODES_PANNE}."})
                return
            with etat.verrou:
                etat.panne = panne
            self._envoyer(200, {"panne": panne})
        elif methode == "POST" and chemin == "vider":
            etat.vider()
            self._envoyer(200, {})
        else:
            self._envoyer(404, {"erreur": f"Contrôle inconnu : {chemin}"})


class ServeurPair(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, adresse, gestionnaire, **options) -> None:
        super().__init__(adresse, gestionnaire)
        self.etat = EtatPair()
        self.options = options


def servir(gestionnaire: type[GestionnairePair], hote: str, port: int, **options) -> int:
    """Sert jusqu'à SIGTERM ou Ctrl-C (processus du bac à sable ; `make run` l'annonce lui-même)."""
    import signal

    def _arreter(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _arreter)
    serveur = ServeurPair((hote, port), gestionnaire, **options)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # arrêt demandé : on ferme proprement
            serveur.serve_forever(poll_interval=0.2)
    finally:
        serveur.server_close()
    return 0


@dataclass
class ProcessusPair:
    """Un pair lancé comme vrai processus (`python -m sandbox.<module> --port P …`) et son client
    de contrôle pour les tests."""

    module: str
    arguments: list[str]
    port: int = 0
    processus: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def demarrer(self) -> ProcessusPair:
        """Lance le processus (sur le même port s'il a déjà tourné) et attend qu'il réponde."""
        self.port = self.port or _free_port()
        self.processus = subprocess.Popen(
            [sys.executable, "-m", self.module, "--port", str(self.port), *self.arguments],
            stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,  # noqa: PLW1509
        )  # fmt: skip
        echeance = time.monotonic() + DELAI_DEMARRAGE
        while time.monotonic() < echeance:
            if self.processus.poll() is not None:
                raise RuntimeError(
                    f"{self.module} s'est arrêté au démarrage (code {self.processus.returncode})."
                )
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.url}{PREFIXE_CONTROLE}receptions", timeout=0.5)
                return self
            time.sleep(0.05)
        self.arreter()
        raise RuntimeError(f"{self.module} n'a pas répondu en {DELAI_DEMARRAGE:.0f} s.")

    def arreter(self) -> None:
        """Arrête le processus (SIGTERM, puis SIGKILL s'il traîne) ; sans effet s'il est arrêté."""
        processus, self.processus = self.processus, None
        if processus is None or processus.poll() is not None:
            return
        processus.terminate()
        try:
            processus.wait(5)
        except subprocess.TimeoutExpired:
            processus.kill()
            processus.wait()

    def _controle(self, methode: str, chemin: str, corps: dict | None = None) -> dict:
        reponse = requests.request(methode, f"{self.url}{PREFIXE_CONTROLE}{chemin}", json=corps, timeout=5)
        reponse.raise_for_status()
        return reponse.json()

    def messages(self) -> list[dict]:
        return self._controle("GET", "messages")["messages"]

    def receptions(self) -> dict[str, int]:
        return self._controle("GET", "receptions")["receptions"]

    def panne(self, mode: str, **reglages) -> None:
        """Met le pair en panne : « echec » (statut=503…), « lent » (delai=s), « coupure » ; nombre=N."""
        self._controle("POST", "panne", {"mode": mode, **reglages})

    def vider(self) -> None:
        self._controle("POST", "vider")
