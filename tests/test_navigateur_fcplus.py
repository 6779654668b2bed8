"""Connexion FranceConnect+ dans Chromium, de bout en bout : bouton du portail, page de choix du
fournisseur du bac à sable (qui lit le JWKS de chiffrement du portail servi par `live_server`),
usager reconnu par ses traits, aidante reliée par son code d'invitation, puis déconnexion du portail
et du fournisseur."""

import copy
import datetime
import json
import re

import pytest
from django.utils import timezone

from cercle.services import creer_cercle
from coordination.comptes import cles_fcplus, invitations
from coordination.comptes.models import Invitation, TypeInvitation
from coordination.personnes.demo import USAGERS
from sandbox.fournisseurs import fcplus as bac_fcplus
from sandbox.fournisseurs.serveur import demarrer
from tests.factories import ProcheFactory, UsagerFactory
from tests.test_navigateur import capturer

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]

DEMO = {u.cle: u for u in USAGERS}
CODE = "RSTU-VWXY-ZABC-DEFG"


def usager_demo(cle: str):
    u = DEMO[cle]
    usager = UsagerFactory(
        nom_naissance=u.nom_naissance, prenoms_naissance=u.prenoms_naissance, date_naissance=u.date_naissance,
        sexe=u.sexe, code_lieu_naissance=u.code_lieu_naissance,
    )  # fmt: skip
    creer_cercle(usager=usager)
    return usager


@pytest.fixture
def fcplus(settings, live_server):
    cle = cles_fcplus.nouvelle_cle(kid="cle-navigateur")
    settings.FCPLUS_CLES_CHIFFREMENT = json.dumps({"keys": [cle.as_dict(private=True)]})
    settings.FCPLUS_CLES_CHIFFREMENT_FICHIER = ""
    serveur = demarrer(
        bac_fcplus.fournisseur_fcplus(jwks_uri=live_server.url + bac_fcplus.CHEMIN_JWKS_PORTAIL)
    )
    settings.FCPLUS_EMETTEUR = serveur.fournisseur.emetteur
    settings.FCPLUS_CLIENT_ID = bac_fcplus.CLIENT_ID_DEFAUT
    settings.FCPLUS_CLIENT_SECRET = bac_fcplus.SECRET_DEFAUT
    # Comme les réglages le font pour FCPLUS_EMETTEUR : la fin de session est une destination de
    # formulaire permise (le bouton « Se déconnecter » est un POST redirigé).
    politique = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    politique["DIRECTIVES"]["form-action"].append(serveur.fournisseur.base)
    settings.CONTENT_SECURITY_POLICY = politique
    yield serveur.fournisseur
    serveur.arreter()


def choisir_chez_fcplus(page, fcplus, nom: str) -> None:
    page.get_by_role("link", name=re.compile("S'identifier avec FranceConnect\\+")).click()
    page.wait_for_url(re.compile(re.escape(fcplus.adresse_autorisation) + r"\?"))
    assert page.get_by_role("heading", level=1).inner_text() == "Choisir une identité de test"
    page.get_by_role("button", name=re.compile(nom)).click()


def se_deconnecter_des_deux_cotes(page, live_server, fcplus) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(re.escape(live_server.url + "/comptes/login/")))
    assert fcplus.sessions == {}  # session fermée aussi chez le fournisseur (session/end)


def test_usager_reconnu_par_ses_traits_puis_deconnecte_des_deux_cotes(page, live_server, fcplus):
    usager = usager_demo("marcelle")
    page.goto(live_server.url + "/")
    choisir_chez_fcplus(page, fcplus, "Marcelle Louise LAMBERT-FICTIF")
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Mon accompagnement"
    assert "Marcelle" in page.locator(".bandeau-acteur").inner_text()
    usager.refresh_from_db()
    assert usager.compte_id is not None and usager.champs_figes
    se_deconnecter_des_deux_cotes(page, live_server, fcplus)
    # Une nouvelle connexion redemande l'identité (FC+ ne garde pas de session).
    choisir_chez_fcplus(page, fcplus, "Marcelle Louise LAMBERT-FICTIF")
    page.wait_for_url(live_server.url + "/")
    assert page.journal_console.violations_csp == []


def test_aidante_reliee_par_son_code_d_invitation_puis_deconnectee(page, live_server, fcplus):
    nicolas = usager_demo("nicolas")
    proche = ProcheFactory(
        usager=nicolas, prenoms="Martine", nom="FAURE-FICTIF", lien="representant_legal",
        mesure_protection="tutelle", precision_lien="mère, tutrice",
    )  # fmt: skip
    Invitation.objects.create(
        type=TypeInvitation.PROCHE, proche=proche, empreinte_code=invitations.empreinte(CODE),
        expire_le=timezone.now() + datetime.timedelta(days=3),
    )  # fmt: skip
    page.goto(live_server.url + "/comptes/login/")
    capturer(page, "fcplus-connexion")
    choisir_chez_fcplus(page, fcplus, "Martine Odette FAURE-FICTIF")
    page.wait_for_url(live_server.url + "/comptes/fcplus/invitation/")
    assert page.get_by_role("heading", level=1).inner_text() == "Relier votre identité FranceConnect+"
    capturer(page, "fcplus-code-invitation")
    page.get_by_label("Code d'invitation").fill(CODE.lower())
    page.get_by_role("button", name="Relier mon identité").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == f"L'accompagnement de {nicolas}"
    proche.refresh_from_db()
    assert proche.compte_id is not None
    se_deconnecter_des_deux_cotes(page, live_server, fcplus)
    # Reconnue par son sub : plus de code demandé.
    choisir_chez_fcplus(page, fcplus, "Martine Odette FAURE-FICTIF")
    page.wait_for_url(live_server.url + "/")
    assert page.journal_console.violations_csp == []
