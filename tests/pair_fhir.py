"""Fixtures pytest : le pair FHIR du bac à sable (DMP et Mon espace santé), un vrai serveur HTTP
lancé comme processus sur un port libre, pour tout le module de test qui l'importe.

    from tests.pair_fhir import pair_fhir, pair_fhir_neuf  # noqa: F401

`pair_fhir_neuf` remet le pair à zéro (rien de reçu, mode normal) et pointe `DMP_URL`, `MES_URL` et
`MES_URL_APPARIEMENT` sur lui pour le test."""

from __future__ import annotations

import pytest

from sandbox.pair_fhir import PairFHIR


@pytest.fixture(scope="module")
def pair_fhir(tmp_path_factory):
    pair = PairFHIR.demarrer(tmp_path_factory.mktemp("pair_fhir"))
    try:
        yield pair
    finally:
        pair.arreter()


@pytest.fixture
def pair_fhir_neuf(pair_fhir, settings):
    if pair_fhir.processus is None or pair_fhir.processus.poll() is not None:
        pair_fhir.redemarrer()  # un test précédent l'a laissé arrêté
    pair_fhir.reinitialiser()
    settings.DMP_URL = pair_fhir.url_dmp
    settings.MES_URL = pair_fhir.url_mes
    settings.MES_URL_APPARIEMENT = f"{pair_fhir.url}/mes/appariement"
    settings.ECHANGES_FHIR_DELAI_SECONDES = 2.0
    return pair_fhir
