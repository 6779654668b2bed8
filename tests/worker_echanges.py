"""Fixtures pour les essais avec un vrai worker Celery du portail (processus à part, sur la base
de test) : un Redis privé (qu'on peut redémarrer), l'opérateur MSSanté du bac à sable, et une
fabrique de workers arrêtés à la fin du test. Ce processus-ci publie ses demandes d'envoi dans le
même Redis privé.

    from tests.worker_echanges import *  # noqa: F403 — les fixtures (fixture_…)
    from tests.worker_echanges import attendre
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bench.run import url_base_django
from coordination.celery import app
from sandbox.processus import RedisPrive, WorkerCelery
from tests import pair_mssante

operateur_mssante = pair_mssante.operateur_mssante

__all__ = [
    "attendre",
    "fixture_environnement",
    "fixture_operateur",
    "fixture_redis_prive",
    "fixture_workers",
    "operateur_mssante",
]


@pytest.fixture(name="redis_prive")
def fixture_redis_prive(tmp_path):
    serveur = RedisPrive(tmp_path / "redis").demarrer()
    yield serveur
    serveur.arreter()


@pytest.fixture(name="operateur")
def fixture_operateur(operateur_mssante):
    if not operateur_mssante.en_marche:
        operateur_mssante.lancer()
    operateur_mssante.reinitialiser()
    operateur_mssante.vider()
    return operateur_mssante


@pytest.fixture(name="environnement")
def fixture_environnement(operateur, redis_prive):
    """Les réglages du worker ; ce processus-ci publie aussi ses demandes d'envoi (après
    validation) dans le Redis privé, celui qu'on redémarre."""
    ancien = app.conf.broker_url
    app.conf.broker_url = redis_prive.url  # les demandes après validation ouvrent leur connexion
    yield {
        "DATABASE_URL": url_base_django(),
        "REDIS_URL": redis_prive.url,
        "CELERY_BROKER_URL": redis_prive.url,
        "MSSANTE_HOTE": "127.0.0.1",
        "MSSANTE_PORT_SMTP": str(operateur.ports["smtp"]),
        "MSSANTE_PORT_IMAP": str(operateur.ports["imap"]),
        "MSSANTE_CA": str(operateur.pki.ca),
        "MSSANTE_CERTIFICAT_CLIENT": str(operateur.pki.certificat_client),
        "MSSANTE_CLE_CLIENT": str(operateur.pki.cle_client),
        "MSSANTE_BAL_APPLICATION": operateur.bal_application,
        "MSSANTE_PORT_COURRIEL": str(operateur.ports["courriel"]),
        "MSSANTE_DELAI_SECONDES": "3",
        "MSSANTE_RELEVE_SECONDES": "3600",
        "ECHANGES_TENTATIVES_MAX": "4",
        "ECHANGES_BAIL_SECONDES": "4",
        "ECHANGES_ATTENTE_BASE_SECONDES": "0.3",
        "ECHANGES_ATTENTE_MAX_SECONDES": "2",
        "ECHANGES_BALAYAGE_SECONDES": "1",
    }
    app.conf.broker_url = ancien


@pytest.fixture(name="workers")
def fixture_workers(environnement, tmp_path):
    """Fabrique de workers (arrêtés à la fin du test, même s'il échoue)."""
    lances: list[WorkerCelery] = []

    def lancer(*, beat: bool = True, **reglages: str) -> WorkerCelery:
        worker = WorkerCelery(tmp_path / f"worker-{len(lances)}", {**environnement, **reglages}, beat=beat)
        lances.append(worker.demarrer())
        return worker

    yield lancer
    for worker in lances:
        worker.tuer()


def attendre(condition: Callable[[], bool], delai: float, message: str, worker: WorkerCelery | None = None):
    fin = time.monotonic() + delai
    while time.monotonic() < fin:
        if condition():
            return
        time.sleep(0.2)
    sortie = worker.journal.read_text(errors="replace")[-3000:] if worker and worker.journal.exists() else ""
    raise AssertionError(f"{message} (après {delai} s)\n{sortie}")
