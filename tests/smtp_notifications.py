"""Un vrai serveur SMTP (aiosmtpd) dans son propre processus, pour les tests de l'adaptateur
courriel des notifications, en attendant l'opérateur MSSanté du bac à sable (`sandbox/mssante.py`,
port en clair).

    from tests.smtp_notifications import serveur_smtp  # noqa: F401

Il vérifie ce qu'il reçoit comme un vrai serveur : destinataire inconnu → 550, boîte
temporairement indisponible → 451 (adresses « refuse@… » et « plus-tard@… »), message sans
Message-ID ou sans sujet → 554. Il ne range qu'une fois un Message-ID déjà reçu (dédoublonnage
sur notre clé d'idempotence) et compte chaque réception dans `recus.json` : le test voit combien
de fois une clé est arrivée."""

from __future__ import annotations

import email
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


class Boite:
    """Le gestionnaire aiosmtpd : contrôle, dédoublonnage, compte des réceptions."""

    def __init__(self, dossier: Path) -> None:
        self.dossier = dossier
        self.recus: dict[str, int] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        local = address.split("@", 1)[0].lower()
        if local == "refuse":
            return "550 5.1.1 Mailbox unknown"
        if local == "plus-tard":
            return "451 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content)
        identifiant = (message.get("Message-ID") or "").strip()
        if not identifiant or not message.get("Subject"):
            return "554 5.6.0 Message-ID and Subject are required"
        deja = self.recus.get(identifiant, 0)
        self.recus[identifiant] = deja + 1
        if not deja:
            nom = f"{len(list(self.dossier.glob('*.eml'))):05d}.eml"
            (self.dossier / nom).write_bytes(envelope.content)
        (self.dossier / "recus.json").write_text(json.dumps(self.recus))
        return "250 Message accepted"


def _servir(port: int, dossier: str) -> None:
    from aiosmtpd.controller import Controller

    controleur = Controller(Boite(Path(dossier)), hostname="127.0.0.1", port=port)
    controleur.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controleur.stop()


class ServeurSMTP:
    def __init__(self, dossier: Path) -> None:
        self.dossier = dossier
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.processus = subprocess.Popen(
            [sys.executable, "-m", "tests.smtp_notifications", str(self.port), str(dossier)],
            cwd=Path(__file__).resolve().parent.parent,
        )
        limite = time.monotonic() + 15
        while time.monotonic() < limite:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.arreter()
        raise RuntimeError("Le serveur SMTP de test n'a pas démarré.")

    def recus(self) -> dict[str, int]:
        fichier = self.dossier / "recus.json"
        return json.loads(fichier.read_text()) if fichier.exists() else {}

    def messages(self) -> list[email.message.Message]:
        return [email.message_from_bytes(f.read_bytes()) for f in sorted(self.dossier.glob("*.eml"))]

    def arreter(self) -> None:
        self.processus.terminate()
        self.processus.wait(timeout=10)


@pytest.fixture(scope="module")
def serveur_smtp(tmp_path_factory):
    serveur = ServeurSMTP(tmp_path_factory.mktemp("smtp"))
    try:
        yield serveur
    finally:
        serveur.arreter()


if __name__ == "__main__":
    _servir(int(sys.argv[1]), sys.argv[2])
