"""Fixture pytest : un vrai serveur Radicale pour tout le module de test qui l'importe.

    from tests.radicale import radicale, calendrier_radicale  # noqa: F401

Gardé hors de conftest.py : seuls les tests CalDAV le démarrent. Chaque test reçoit un
calendrier neuf (nom unique) sur le même serveur.
"""

from __future__ import annotations

import itertools

import pytest

from sandbox.radicale import ServeurRadicale

_numeros = itertools.count(1)


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):
    serveur = ServeurRadicale.demarrer(tmp_path_factory.mktemp("radicale"))
    try:
        yield serveur
    finally:
        serveur.arreter()


@pytest.fixture
def calendrier_radicale(radicale) -> str:
    """URL d'un calendrier vide, propre au test."""
    return radicale.url_calendrier(f"agenda-{next(_numeros)}")
