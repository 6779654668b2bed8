"""Fixtures pytest : un vrai opérateur MSSanté du bac à sable (sandbox/mssante.py) pour le module.

    from tests import pair_mssante
    operateur_mssante, mssante = pair_mssante.operateur_mssante, pair_mssante.mssante

`operateur_mssante` : le processus (SMTP STARTTLS, IMAP, SMTP ordinaire, contrôle), démarré une
fois par module ; `mssante` : le même, avec les réglages `MSSANTE_*` du portail pointés sur lui
(ports, PKI de test), en mode normal et sans connexion SMTP gardée d'un test à l'autre."""

from __future__ import annotations

import pytest

from coordination.echanges import mssante as adaptateur
from sandbox.mssante import OperateurMSSante


@pytest.fixture(scope="module")
def operateur_mssante(tmp_path_factory):
    operateur = OperateurMSSante.demarrer(tmp_path_factory.mktemp("mssante"))
    try:
        yield operateur
    finally:
        operateur.arreter()


@pytest.fixture
def mssante(operateur_mssante, settings):
    if not operateur_mssante.en_marche:
        operateur_mssante.lancer()  # un test précédent l'a arrêté
    operateur_mssante.reinitialiser()
    settings.MSSANTE_HOTE = "127.0.0.1"
    settings.MSSANTE_PORT_SMTP = operateur_mssante.ports["smtp"]
    settings.MSSANTE_PORT_IMAP = operateur_mssante.ports["imap"]
    settings.MSSANTE_CA = str(operateur_mssante.pki.ca)
    settings.MSSANTE_CERTIFICAT_CLIENT = str(operateur_mssante.pki.certificat_client)
    settings.MSSANTE_CLE_CLIENT = str(operateur_mssante.pki.cle_client)
    settings.MSSANTE_BAL_APPLICATION = operateur_mssante.bal_application
    settings.MSSANTE_DELAI_SECONDES = 5.0
    adaptateur.fermer()
    yield operateur_mssante
    adaptateur.fermer()
