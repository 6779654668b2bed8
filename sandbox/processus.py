"""Processus jetables pour les essais de pannes et le banc des échanges (ticket 8, points 7 et 8) :
un Redis privé qu'on arrête et redémarre sur le même port, et un vrai worker Celery (avec, au
besoin, son beat intégré) qu'on démarre sur la base de test et qu'on tue en plein envoi."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sandbox.stack import BASE_DIR, _die_with_parent, _free_port, _redis_bin, _tuer_avec_ses_enfants


def attendre_le_port(port: int, *, delai: float = 20, processus: subprocess.Popen | None = None) -> None:
    fin = time.monotonic() + delai
    while time.monotonic() < fin:
        if processus is not None and processus.poll() is not None:
            raise RuntimeError(f"Le processus s'est arrêté au démarrage (code {processus.returncode}).")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"Rien n'écoute sur le port {port} après {delai} s.")


class RedisPrive:
    """Un serveur Redis sans persistance : l'arrêter perd tout ce qu'il tenait (les demandes d'envoi
    en attente), comme un Redis qui redémarre sans sauvegarde."""

    def __init__(self, dossier: Path) -> None:
        self.dossier = dossier
        self.port = _free_port()
        self.processus: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port)

    def demarrer(self) -> RedisPrive:
        self.dossier.mkdir(parents=True, exist_ok=True)
        self.processus = subprocess.Popen(
            [_redis_bin(), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dossier),
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,  # noqa: PLW1509
        )  # fmt: skip
        attendre_le_port(self.port, processus=self.processus)
        return self

    def arreter(self) -> None:
        if self.processus is not None and self.processus.poll() is None:
            self.processus.kill()
            self.processus.wait(10)
        self.processus = None

    def redemarrer(self) -> None:
        self.arreter()
        self.demarrer()


class WorkerCelery:
    """Un worker Celery du portail (un processus d'envoi : `--concurrency=1`) sur la base et le Redis
    donnés ; `beat=True` lui ajoute le balayage périodique. `tuer()` est un SIGKILL du worker et de
    son pool : aucune chance de finir proprement (pas d'acquittement, pas d'écriture en base)."""

    def __init__(self, dossier: Path, environnement: dict[str, str], *, beat: bool = False):
        self.dossier = dossier
        self.environnement = {**os.environ, **environnement}
        self.beat = beat
        self.processus: subprocess.Popen | None = None
        self._sortie = None

    @property
    def journal(self) -> Path:
        """La sortie du worker (à joindre au message d'un test qui échoue)."""
        return self.dossier / "worker.log"

    def demarrer(self) -> WorkerCelery:
        argv = [sys.executable, "-m", "celery", "-A", "coordination", "worker", "--concurrency=1",
                "--loglevel=INFO", "--without-heartbeat", "--without-mingle", "--without-gossip"]  # fmt: skip
        if self.beat:
            argv += ["--beat", "--schedule", str(self.dossier / "beat-schedule")]
        self.dossier.mkdir(parents=True, exist_ok=True)
        self._sortie = open(self.journal, "ab")  # noqa: SIM115
        self.processus = subprocess.Popen(
            argv, cwd=BASE_DIR, env=self.environnement, stdout=self._sortie, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )  # fmt: skip
        return self

    def tuer(self) -> None:
        if self.processus is not None and self.processus.poll() is None:
            _tuer_avec_ses_enfants(self.processus)
            self.processus.wait(10)
        self._fin()

    def _fin(self) -> None:
        self.processus = None
        if self._sortie is not None:
            self._sortie.close()
            self._sortie = None

    def arreter(self) -> None:
        """Arrêt normal (SIGTERM : le worker finit la tâche en cours), puis SIGKILL au-delà de 15 s."""
        if self.processus is None or self.processus.poll() is not None:
            self._fin()
            return
        self.processus.send_signal(signal.SIGTERM)
        try:
            self.processus.wait(15)
        except subprocess.TimeoutExpired:
            self.tuer()
        self._fin()
