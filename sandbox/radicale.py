"""Serveur CalDAV du bac à sable : un vrai Radicale 3.9 (groupe dev), lancé comme processus enfant.

Sert aux tests de la synchronisation CalDAV de l'agenda (ADR 0024) et, plus tard, à `make run`
comme serveur d'agenda « du professionnel ». Écoute sur 127.0.0.1 et un port libre, stockage
sur disque dans le dossier donné, authentification htpasswd en clair (des comptes de test,
créés ici), droits « propriétaire seulement ».

    with ServeurRadicale.demarrer(Path("/tmp/radicale")) as serveur:
        url = serveur.url_calendrier("agenda")   # crée la collection (MKCALENDAR)

    python -m sandbox.radicale DOSSIER        # démarre et affiche l'URL (débogage)

Jamais importé par le code de production.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from sandbox.stack import Child, _die_with_parent, _free_port

UTILISATEUR_PAR_DEFAUT = "professionnel"
DELAI_DEMARRAGE = 30.0

_CORPS_MKCALENDAR = b"""<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>
"""


def _configuration(dossier: Path, port: int) -> str:
    """Configuration minimale : pas de délai sur les refus (tests rapides)."""
    return f"""[server]
hosts = 127.0.0.1:{port}
delay_on_error = 0

[auth]
type = htpasswd
htpasswd_filename = {dossier / "utilisateurs"}
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {dossier / "collections"}

[logging]
level = warning
"""


@dataclass
class ServeurRadicale:
    """Un Radicale en marche ; `arreter()` (ou la sortie du bloc `with`) l'arrête à coup sûr."""

    dossier: Path
    port: int
    utilisateur: str
    mot_de_passe: str
    enfant: Child | None = None
    duree_demarrage: float = 0.0
    comptes: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @classmethod
    def demarrer(
        cls,
        dossier: Path,
        *,
        utilisateur: str = UTILISATEUR_PAR_DEFAUT,
        mot_de_passe: str | None = None,
        autres_comptes: dict[str, str] | None = None,
        port: int | None = None,
    ) -> ServeurRadicale:
        """Écrit la configuration et les comptes dans `dossier`, lance Radicale, attend qu'il réponde."""
        dossier = Path(dossier)
        dossier.mkdir(parents=True, exist_ok=True)
        mot_de_passe = mot_de_passe or secrets.token_urlsafe(12)
        comptes = {utilisateur: mot_de_passe, **(autres_comptes or {})}
        for nom, secret in comptes.items():
            if ":" in nom or "\n" in nom + secret:
                raise ValueError(f"Nom d'utilisateur ou mot de passe invalide pour htpasswd : {nom!r}")
        (dossier / "utilisateurs").write_text("".join(f"{n}:{s}\n" for n, s in comptes.items()))
        port = port or _free_port()
        configuration = dossier / "config"
        configuration.write_text(_configuration(dossier, port))
        serveur = cls(dossier, port, utilisateur, mot_de_passe, comptes=comptes)
        debut = time.monotonic()
        journal = open(dossier / "radicale.log", "ab")  # noqa: SIM115
        processus = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(configuration)],
            stdout=journal, stderr=journal, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )  # fmt: skip
        serveur.enfant = Child("radicale", processus, signal.SIGTERM, journal)
        try:
            serveur._attendre(processus)
        except BaseException:
            serveur.arreter()
            raise
        serveur.duree_demarrage = time.monotonic() - debut
        return serveur

    def _attendre(self, processus: subprocess.Popen) -> None:
        echeance = time.monotonic() + DELAI_DEMARRAGE
        while time.monotonic() < echeance:
            if processus.poll() is not None:
                raise RuntimeError(
                    f"Radicale s'est arrêté au démarrage ; voir {self.dossier / 'radicale.log'}"
                )
            with contextlib.suppress(requests.RequestException):
                # Toute réponse HTTP (même 401) prouve que le serveur écoute et traite.
                requests.options(self.url, timeout=0.5)
                return
            time.sleep(0.05)
        raise RuntimeError(f"Radicale n'a pas répondu en {DELAI_DEMARRAGE:.0f} s.")

    def url_calendrier(self, nom: str, *, utilisateur: str | None = None) -> str:
        """URL d'un calendrier de `utilisateur` (par défaut le compte principal), créé s'il manque."""
        utilisateur = utilisateur or self.utilisateur
        url = f"{self.url}{utilisateur}/{nom}/"
        reponse = requests.request(
            "MKCALENDAR", url, data=_CORPS_MKCALENDAR, timeout=10,
            auth=(utilisateur, self.comptes[utilisateur]),
            headers={"Content-Type": "application/xml; charset=utf-8"},
        )  # fmt: skip
        # 405 / 409 : la collection existe déjà.
        if reponse.status_code not in (201, 405, 409):
            raise RuntimeError(
                f"Création du calendrier {nom!r} refusée par Radicale : HTTP {reponse.status_code}"
            )
        return url

    def arreter(self, delai: float = 10) -> None:
        """Arrête Radicale (SIGTERM, puis SIGKILL s'il traîne) ; sans effet s'il est déjà arrêté."""
        enfant, self.enfant = self.enfant, None
        if enfant is None:
            return
        if enfant.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                enfant.process.send_signal(enfant.stop_signal)
        try:
            enfant.process.wait(delai)
        except subprocess.TimeoutExpired:
            enfant.process.kill()
            enfant.process.wait()
        if enfant.log is not None:
            enfant.log.close()

    @property
    def en_marche(self) -> bool:
        return self.enfant is not None and self.enfant.process.poll() is None

    def __enter__(self) -> ServeurRadicale:
        return self

    def __exit__(self, *exc) -> None:
        self.arreter()


def _interrompre(signum, frame) -> None:
    raise KeyboardInterrupt


def _mot_de_passe_existant(dossier: Path, utilisateur: str) -> str | None:
    """Le mot de passe déjà écrit pour `utilisateur` (un calendrier relié au portail lors d'un
    lancement précédent reste valable)."""
    fichier = dossier / "utilisateurs"
    if not fichier.exists():
        return None
    for ligne in fichier.read_text().splitlines():
        nom, _, secret = ligne.partition(":")
        if nom == utilisateur and secret:
            return secret
    return None


def main(argv: list[str]) -> int:
    """`python -m sandbox.radicale DOSSIER [PORT]` : le serveur CalDAV du bac à sable (`make run`)."""
    if len(argv) not in (1, 2) or (len(argv) == 2 and not argv[1].isdigit()):
        print("usage : python -m sandbox.radicale DOSSIER [PORT]", file=sys.stderr)
        return 2
    dossier = Path(argv[0])
    with ServeurRadicale.demarrer(
        dossier,
        mot_de_passe=_mot_de_passe_existant(dossier, UTILISATEUR_PAR_DEFAUT),
        port=int(argv[1]) if len(argv) == 2 else None,
    ) as serveur:
        print(
            f"Radicale prêt en {serveur.duree_demarrage:.2f} s : {serveur.url_calendrier('agenda')}",
            flush=True,
        )
        print(
            f"  compte : {serveur.utilisateur} (mot de passe dans {serveur.dossier / 'utilisateurs'})",
            flush=True,
        )
        signal.signal(signal.SIGTERM, _interrompre)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
