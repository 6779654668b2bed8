"""Fixtures pytest : les pairs du lot SMS et webhooks, comme vrais processus (un par module de test).

    from tests.pair_sms import fixture_fournisseur_sms, fixture_sms  # noqa: F401

`fournisseur_sms` / `dui` : le processus (module) ; `sms` / `recepteur_dui` : le même, vidé et sans
panne pour chaque test, avec les réglages du portail pointés sur lui."""

from __future__ import annotations

import pytest

from sandbox import dui as sandbox_dui
from sandbox import sms as sandbox_sms

CLE_SMS = "cle-des-tests-sms"
JETON_DUI = "jeton-du-dui-de-test"


@pytest.fixture(scope="module", name="fournisseur_sms")
def fixture_fournisseur_sms():
    pair = sandbox_sms.fournisseur(cle=CLE_SMS).demarrer()
    try:
        yield pair
    finally:
        pair.arreter()


@pytest.fixture(name="sms")
def fixture_sms(fournisseur_sms, settings):
    if fournisseur_sms.processus is None:  # arrêté par un test précédent : relancé sur le même port
        fournisseur_sms.demarrer()
    fournisseur_sms.vider()
    settings.SMS_API_URL = f"{fournisseur_sms.url}{sandbox_sms.CHEMIN}"
    settings.SMS_API_CLE = CLE_SMS
    settings.SMS_DELAI_SECONDES = 2.0
    return fournisseur_sms


@pytest.fixture(scope="module", name="dui")
def fixture_dui():
    pair = sandbox_dui.recepteur(jeton=JETON_DUI).demarrer()
    try:
        yield pair
    finally:
        pair.arreter()


@pytest.fixture(name="recepteur_dui")
def fixture_recepteur_dui(dui, settings):
    if dui.processus is None:
        dui.demarrer()
    dui.vider()
    settings.WEBHOOKS_DELAI_SECONDES = 2.0
    settings.WEBHOOKS_HTTP_LOCAL = True
    return dui
