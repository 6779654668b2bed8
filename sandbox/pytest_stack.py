"""Greffon pytest : démarre PostgreSQL et Redis embarqués avant que Django lise ses réglages.

Chargé par `-p sandbox.pytest_stack` (pyproject). Si `DATABASE_URL` et `REDIS_URL` sont
définis, la suite tourne sur ces serveurs et rien n'est démarré. Les workers xdist
héritent de l'environnement du contrôleur et ne démarrent donc rien eux-mêmes.
"""

import os

import pytest

from sandbox.stack import services_from_env, test_stack

_stack_cm = None


def _base_redis_du_worker() -> None:
    """Chaque worker xdist (gw0, gw1…) prend sa propre base Redis (1, 2…) : un `cache.clear()`
    (FLUSHDB) ou un compteur de limite d'un test ne touche pas les tests de l'autre worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("REDIS_URL", "")
    if not worker.startswith("gw") or not url.startswith("redis://"):
        return
    base = 1 + int(worker[2:]) % 15
    debut, _, fin = url.rpartition("/")
    os.environ["REDIS_URL"] = f"{debut}/{base}" if fin.isdigit() else f"{url.rstrip('/')}/{base}"


def _canaux_du_processus() -> None:
    """Les canaux pub/sub de Redis ne dépendent pas du numéro de base : chaque processus de test
    (contrôleur et workers xdist) prend son propre préfixe de canaux du cahier (ADR 0017)."""
    os.environ["CAHIER_TEMPS_REEL_PREFIXE"] = f"test-{os.getpid()}:cahier"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _stack_cm
    _canaux_du_processus()
    if services_from_env():
        _base_redis_du_worker()
        return
    _stack_cm = test_stack()
    stack = _stack_cm.__enter__()
    os.environ.update(stack.environ())


def pytest_unconfigure(config):
    global _stack_cm
    if _stack_cm is not None and not hasattr(config, "workerinput"):
        _stack_cm.__exit__(None, None, None)
        _stack_cm = None
