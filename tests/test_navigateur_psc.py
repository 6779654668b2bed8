"""Connexion Pro Santé Connect dans Chromium, de bout en bout : page du portail, page de choix
du fournisseur du bac à sable, choix de la situation d'exercice, accueil, puis déconnexion du
portail et du fournisseur."""

import copy
import re

import pytest

from sandbox.fournisseurs import psc as bac_psc
from sandbox.fournisseurs.serveur import demarrer
from tests.test_navigateur import capturer

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def psc(settings):
    serveur = demarrer(bac_psc.fournisseur_psc())
    settings.PSC_EMETTEUR = serveur.fournisseur.emetteur
    settings.PSC_CLIENT_ID = bac_psc.CLIENT_ID_DEFAUT
    settings.PSC_CLIENT_SECRET = bac_psc.SECRET_DEFAUT
    # Comme les réglages le font pour PSC_EMETTEUR : la fin de session (après le POST de
    # déconnexion) est une destination de formulaire permise.
    politique = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    politique["DIRECTIVES"]["form-action"].append(serveur.fournisseur.base)
    settings.CONTENT_SECURITY_POLICY = politique
    yield serveur.fournisseur
    serveur.arreter()


def test_professionnel_a_deux_activites_choisit_puis_se_deconnecte_des_deux_cotes(page, live_server, psc):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    page.wait_for_url(re.compile(re.escape(psc.adresse_autorisation) + r"\?"))
    assert page.get_by_role("heading", level=1).inner_text() == "Choisir une identité de test"
    page.get_by_role("button", name=re.compile("GIRAUD-FICTIF")).click()

    # Deux situations d'exercice déclarées par PSC : le portail demande laquelle.
    page.wait_for_url(re.compile(r".*/qualite/\?suivant=%2F$"))
    capturer(page, "psc-choix-qualite")
    page.get_by_label(re.compile("SSIAD du Val-Fictif")).check()
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Mes usagers"
    bandeau = page.locator(".bandeau-acteur").inner_text()
    assert "Élodie GIRAUD-FICTIF" in bandeau and "SSIAD du Val-Fictif" in bandeau
    assert len(psc.sessions) == 1  # session ouverte chez le fournisseur

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(re.escape(live_server.url + "/comptes/login/")))
    assert psc.sessions == {}  # fermée aussi chez le fournisseur (end_session)
    # Preuve côté navigateur : une nouvelle connexion redemande l'identité (pas de reprise de session).
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    page.wait_for_url(re.compile(re.escape(psc.adresse_autorisation) + r"\?"))
    assert page.get_by_role("heading", level=1).inner_text() == "Choisir une identité de test"
    assert page.journal_console.violations_csp == []
