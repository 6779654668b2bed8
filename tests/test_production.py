"""Mode production : refus de démarrer sans la configuration requise, `check --deploy` sans avertissement."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

RACINE = Path(__file__).resolve().parent.parent
REQUIS = {
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "portail.exemple.fr",
    "DATABASE_URL": "postgres://portail:secret@base.exemple.fr:5432/portail",
    "REDIS_URL": "redis://cache.exemple.fr:6379/0",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in REQUIS and k != "DJANGO_ENV"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=RACINE,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_sans_avertissement():
    resultat = _manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_ENV="production", **REQUIS)
    assert resultat.returncode == 0, resultat.stderr
    assert "System check identified no issues (0 silenced)." in resultat.stdout
    assert "WARNINGS" not in resultat.stderr


@pytest.mark.parametrize("manquante", sorted(REQUIS))
def test_refuse_de_demarrer_sans_variable_requise(manquante):
    env = {k: v for k, v in REQUIS.items() if k != manquante}
    resultat = _manage("check", DJANGO_ENV="production", **env)
    assert resultat.returncode == 2
    assert "Démarrage refusé en production" in resultat.stderr
    assert manquante in resultat.stderr
    assert "Traceback" not in resultat.stderr


def test_mode_inconnu_refuse():
    resultat = _manage("check", DJANGO_ENV="prod")
    assert resultat.returncode == 2
    assert "valeurs possibles" in resultat.stderr


def test_developpement_signale_les_manques_de_securite():
    """Le contrôle de déploiement n'est pas complaisant : en développement il échoue."""
    resultat = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert resultat.returncode != 0
    assert "security.W" in resultat.stderr


def test_cles_de_securite_en_https_seulement_en_production():
    """Origine http:// acceptée pour les clés de sécurité en développement seulement ; jamais de
    connexion par clé seule."""
    code = (
        "from django.conf import settings as s; "
        "print(s.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN, s.MFA_PASSKEY_LOGIN_ENABLED, "
        "'webauthn' in s.MFA_SUPPORTED_TYPES)"
    )
    resultat = _manage("shell", "-c", code, DJANGO_ENV="production", **REQUIS)
    assert resultat.returncode == 0, resultat.stderr
    assert resultat.stdout.strip().splitlines()[-1].split() == ["False", "False", "True"]
