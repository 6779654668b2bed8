"""`make run` : la pile démarre, sert le portail, et Ctrl-C ne laisse aucun processus derrière elle.

Lance le superviseur réel (`python -m sandbox.stack run`, ce que fait `make run`) dans un dossier
de données temporaire, deux fois de suite pour vérifier que les données sont reprises."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

RACINE = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.lent


def _port_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processus_de(dossier: Path) -> list[psutil.Process]:
    trouves = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            ligne = " ".join(proc.info["cmdline"] or [])
            environ = proc.info["environ"] or {}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if str(dossier) in ligne or environ.get("COORDINATION_RUN_DIR") == str(dossier):
            trouves.append(proc)
    return trouves


def _demarrer(
    dossier: Path, port: int, port_psc: int = 0, port_fcplus: int = 0, port_caldav: int = 0
) -> tuple[subprocess.Popen, list[str]]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(COORDINATION_RUN_DIR=str(dossier), PORT=str(port), PYTHONUNBUFFERED="1")
    env["PSC_BAC_A_SABLE_PORT"] = str(port_psc or _port_libre())
    env["FCPLUS_BAC_A_SABLE_PORT"] = str(port_fcplus or _port_libre())
    env["CALDAV_BAC_A_SABLE_PORT"] = str(port_caldav or _port_libre())
    env["SMS_BAC_A_SABLE_PORT"] = str(_port_libre())
    env["FHIR_BAC_A_SABLE_PORT"] = str(_port_libre())
    for nom in ("SMTP", "IMAP", "COURRIEL", "CONTROLE"):
        env[f"MSSANTE_PORT_{nom}"] = str(_port_libre())
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.stack", "run"],
        cwd=RACINE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lignes: list[str] = []
    limite = time.monotonic() + 240
    while time.monotonic() < limite:
        ligne = process.stdout.readline()
        if not ligne:
            break
        lignes.append(ligne)
        if "Portail : http://" in ligne:
            process.environnement = env  # pour lancer des commandes sur la même pile
            return process, lignes
    process.kill()
    pytest.fail("Le portail n'a pas démarré :\n" + "".join(lignes[-40:]))


def _arreter(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    try:
        sortie, _ = process.communicate(timeout=90)
    except subprocess.TimeoutExpired as exc:
        restants = [
            f"{p.pid} {p.status()} {' '.join(p.cmdline())[:120]}"
            for p in [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        ]
        process.kill()
        reste, _ = process.communicate()
        lu = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else exc.output or ""
        fin = (lu + (reste or ""))[-4000:]
        pytest.fail(
            "Ctrl-C n'a pas tout arrêté en 90 s ; processus restants :\n"
            + "\n".join(restants)
            + f"\nfin de la sortie :\n{fin}"
        )
    return sortie


def _get(url: str) -> tuple[int, str]:
    limite = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as reponse:  # noqa: S310 - localhost
                return reponse.status, reponse.read().decode()
        except OSError:
            if time.monotonic() > limite:
                raise
            time.sleep(0.5)


def test_make_run_sert_le_portail_puis_s_arrete_proprement(tmp_path):
    dossier = tmp_path / "run"
    port = _port_libre()
    port_psc = _port_libre()
    port_fcplus = _port_libre()
    port_caldav = _port_libre()

    process, lignes = _demarrer(dossier, port, port_psc, port_fcplus, port_caldav)
    try:
        sortie_demarrage = "".join(lignes)
        statut, corps = _get(f"http://127.0.0.1:{port}/comptes/login/")
        assert statut == 200
        assert "Connexion" in corps
        # Le Pro Santé Connect du bac à sable tourne, et le portail y renvoie par défaut.
        assert 'href="/comptes/psc/connexion/' in corps
        emetteur = f"http://127.0.0.1:{port_psc}/auth/realms/esante-wallet"
        statut, corps = _get(emetteur + "/.well-known/wallet-openid-configuration")
        assert statut == 200
        assert f'"issuer": "{emetteur}"' in corps
        # FranceConnect+ du bac à sable aussi ; le portail publie sa clé de chiffrement (créée dans
        # le dossier d'exécution, hors du dépôt).
        assert 'href="/comptes/fcplus/connexion/' in _get(f"http://127.0.0.1:{port}/comptes/login/")[1]
        emetteur = f"http://127.0.0.1:{port_fcplus}/api/v2"
        statut, corps = _get(emetteur + "/.well-known/openid-configuration")
        assert statut == 200 and f'"issuer": "{emetteur}"' in corps
        statut, corps = _get(f"http://127.0.0.1:{port}/comptes/fcplus/jwks.json")
        assert statut == 200 and '"use": "enc"' in corps
        assert (dossier / "fcplus-cles-dev.json").exists()
        statut, corps = _get(f"http://127.0.0.1:{port}/sante/")
        assert statut == 200
        # Le serveur CalDAV du bac à sable (Radicale) répond, et refuse qui n'a pas de compte.
        with pytest.raises(urllib.error.HTTPError) as refus:
            urllib.request.urlopen(f"http://127.0.0.1:{port_caldav}/professionnel/", timeout=5)  # noqa: S310
        assert refus.value.code == 401
        # La boîte d'envoi fonctionne de bout en bout : un message d'essai mis en file part par le
        # worker vers l'opérateur MSSanté du bac à sable (SMTP STARTTLS, certificat client).
        bal = "essai@structure-fictive.mssante.fr"
        subprocess.run(
            [sys.executable, "-m", "sandbox.stack", "manage", "essai_echanges", "mssante", bal],
            cwd=RACINE, env=process.environnement, check=True, timeout=120,
        )  # fmt: skip
        controle = f"http://127.0.0.1:{process.environnement['MSSANTE_PORT_CONTROLE']}/messages"
        limite = time.monotonic() + 60
        while bal not in _get(controle)[1] and time.monotonic() < limite:
            time.sleep(0.5)
        assert bal in _get(controle)[1], "le message d'essai n'est pas arrivé chez l'opérateur MSSanté"
        assert _processus_de(dossier), "aucun processus de la pile trouvé pendant l'exécution"
    finally:
        sortie_arret = _arreter(process)
    assert process.returncode == 0, sortie_arret
    assert "Tout est arrêté." in sortie_arret
    # Les bacs à sable sont annoncés avant l'adresse du portail (la dernière ligne du démarrage).
    annonces = sortie_demarrage[sortie_demarrage.rfind("Identités de test") :]
    assert f"CalDAV (bac à sable, Radicale) : http://127.0.0.1:{port_caldav}/" in annonces, annonces
    # Les identités de test des fournisseurs du bac à sable sont annoncées avec les comptes.
    assert "Identités de test" in sortie_demarrage and "LAMBERT-FICTIF" in sortie_demarrage
    assert "GIRAUD-FICTIF" in sortie_demarrage
    # Les identifiants de démonstration sont affichés au démarrage.
    assert re.search(r"@[\w.-]+", sortie_demarrage)
    time.sleep(1)
    assert _processus_de(dossier) == [], "des processus ont survécu à Ctrl-C"
    assert not (dossier / "stack.env").exists()

    # Second lancement : les données sont reprises (pas de nouvel initdb), puis arrêt propre.
    pg_version = (dossier / "data" / "postgres" / "PG_VERSION").stat().st_mtime
    process, _ = _demarrer(dossier, port)
    try:
        statut, _ = _get(f"http://127.0.0.1:{port}/sante/")
        assert statut == 200
    finally:
        _arreter(process)
    assert process.returncode == 0
    assert (dossier / "data" / "postgres" / "PG_VERSION").stat().st_mtime == pg_version
    time.sleep(1)
    assert _processus_de(dossier) == []
