"""Greffon pytest : démarre PostgreSQL et Redis embarqués avant que Django lise ses réglages.

Chargé par `-p sandbox.pytest_stack` (pyproject). Si `DATABASE_URL` et `REDIS_URL` sont
définis, la suite tourne sur ces serveurs et rien n'est démarré. Les workers xdist
héritent de l'environnement du contrôleur et ne démarrent donc rien eux-mêmes.
"""

import os

import pytest

from sandbox.stack import services_from_env, test_stack

_stack_cm = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _stack_cm
    if services_from_env():
        return
    _stack_cm = test_stack()
    stack = _stack_cm.__enter__()
    os.environ.update(stack.environ())


def pytest_unconfigure(config):
    global _stack_cm
    if _stack_cm is not None and not hasattr(config, "workerinput"):
        _stack_cm.__exit__(None, None, None)
        _stack_cm = None
