"""Connexions (ADR 0014) : verrouillage d'un compte après trop de mots de passe erronés (même le bon
est refusé pendant le verrou), niveau d'assurance de la session exigé pour les données d'usager
(par sorte d'acteur, pages et API), journal des connexions, échecs, verrouillages, déconnexions."""

from __future__ import annotations

import datetime
from html import unescape

import pyotp
import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from coordination.comptes import connexions
from coordination.comptes.connexions import SESSION_NIVEAU, niveau_session
from coordination.comptes.models import Compte
from coordination.journal.models import Evenement, Resultat
from tests.factories import MOT_DE_PASSE_TEST, SECRET_TOTP_TEST, compte_connectable
from tests.monde_cercle import construire_monde

pytestmark = pytest.mark.django_db

CONNEXION = "/comptes/login/"


@pytest.fixture(autouse=True)
def cache_vide():
    cache.clear()
    yield
    cache.clear()


def _texte(reponse) -> str:
    return unescape(reponse.content.decode())


def test_verrouillage_apres_cinq_echecs_puis_deverrouillage(client):
    compte = compte_connectable(email="aidante@exemple.test")
    debut = timezone.now()
    with freeze_time(debut) as horloge:
        for _ in range(connexions.ECHECS_MAX):
            reponse = client.post(CONNEXION, {"login": compte.email, "password": "mauvais-mot-de-passe"})
            assert reponse.status_code == 200
        compte.refresh_from_db()
        assert compte.verrouille_jusqu_au == debut + datetime.timedelta(minutes=30)
        echecs = Evenement.objects.filter(action="connexion.echec", compte_uuid=compte.uuid)
        assert echecs.count() == connexions.ECHECS_MAX
        assert all(e.resultat == Resultat.ECHEC for e in echecs)
        verrou = Evenement.objects.get(action="connexion.verrouillage")
        assert verrou.compte_uuid == compte.uuid and verrou.details["echecs"] == connexions.ECHECS_MAX

        # Le bon mot de passe ne passe pas pendant le verrou ; message en français.
        horloge.tick(datetime.timedelta(minutes=10))
        cache.clear()  # même sans les limites d'allauth (par adresse), le verrou tient
        reponse = client.post(CONNEXION, {"login": compte.email.upper(), "password": MOT_DE_PASSE_TEST})
        assert reponse.status_code == 200
        assert "Ce compte est verrouillé après 5 mots de passe erronés" in _texte(reponse)
        assert "_auth_user_id" not in client.session
        assert Evenement.objects.filter(action="connexion.refus_verrouille").count() == 1

        # Verrou échu : le bon mot de passe passe, le compteur repart de zéro après la connexion.
        horloge.tick(datetime.timedelta(minutes=21))
        cache.clear()
        reponse = client.post(CONNEXION, {"login": compte.email, "password": MOT_DE_PASSE_TEST})
        assert reponse.status_code == 302 and reponse.url == reverse("mfa_authenticate")
        reponse = client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(SECRET_TOTP_TEST).now()})
        assert reponse.status_code == 302
    compte.refresh_from_db()
    assert compte.echecs_connexion == 0 and compte.verrouille_jusqu_au is None


def test_echec_sur_courriel_inconnu_journalise_sans_compte(client):
    client.post(CONNEXION, {"login": "personne@exemple.test", "password": "x" * 12})
    evenement = Evenement.objects.get(action="connexion.echec")
    assert evenement.compte_uuid is None and evenement.details == {"compte_connu": False}
    assert evenement.acteur_type == "anonyme"


def test_connexion_et_deconnexion_journalisees_avec_le_niveau(client):
    compte = compte_connectable(email="pro@exemple.test")
    client.post(CONNEXION, {"login": compte.email, "password": MOT_DE_PASSE_TEST})
    assert not Evenement.objects.filter(action="connexion.reussie").exists()  # pas avant le TOTP
    client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(SECRET_TOTP_TEST).now()})
    evenement = Evenement.objects.get(action="connexion.reussie")
    assert evenement.compte_uuid == compte.uuid
    assert set(evenement.details["methodes"]) >= {"password", "mfa"}
    client.get("/")
    assert client.session[SESSION_NIVEAU] == "local+mfa"
    client.post(reverse("account_logout"))
    sortie = Evenement.objects.get(action="deconnexion")
    assert sortie.compte_uuid == compte.uuid and sortie.details == {"niveau": "local+mfa"}


def test_libelles_francais_des_connexions():
    from coordination.journal.libelles import LIBELLES_ACTIONS

    for code in (
        "connexion.reussie",
        "connexion.echec",
        "connexion.verrouillage",
        "connexion.refus_verrouille",
        "deconnexion",
        "invitation.emission",
        "invitation.utilisation",
        "invitation.revocation",
        "invitation.expiration",
        "invitation.code_refuse",
    ):
        assert code in LIBELLES_ACTIONS


# --- Niveau d'assurance exigé, par sorte d'acteur ----------------------------------------------

ACTEURS_CERCLE = ("usager", "representant", "aidant_avec_droits", "ide", "gestionnaire")
NIVEAUX = {
    None: False,  # mot de passe seul (compte local sans TOTP)
    "fcplus:eidas1": False,
    "fcplus:eidas2": True,
    "fcplus:eidas3": True,
    "psc": True,
    "local+mfa": True,
}


@pytest.fixture
def monde():
    return construire_monde()


def _session(client, compte, niveau):
    client.force_login(compte)
    if niveau is not None:
        session = client.session
        session[SESSION_NIVEAU] = niveau
        session.save()
    return client


@pytest.mark.parametrize("niveau", list(NIVEAUX))
@pytest.mark.parametrize("nom", ACTEURS_CERCLE)
def test_donnees_d_usager_selon_le_niveau(client, monde, nom, niveau):
    compte = monde.acteurs[nom].compte
    _session(client, compte, niveau)
    page = client.get(reverse("accueil"))
    api = client.get(f"/api/v1/usagers/{monde.usager.uuid}/cercle/")
    fhir = client.get(f"/fhir/Patient?_id={monde.usager.uuid}")
    if NIVEAUX[niveau]:
        assert page.status_code == 200
        if nom in {"usager", "representant", "ide", "gestionnaire"}:
            assert api.status_code == 200, api.content
        assert fhir.status_code in {200, 403}
    else:
        # Compte local sans second facteur : vers l'activation du TOTP ; API : non authentifié.
        assert page.status_code == 302 and page.url == reverse("mfa_activate_totp")
        assert api.status_code in {401, 403} and monde.usager.nom_naissance not in api.content.decode()
        assert fhir.status_code in {401, 403}


def test_niveau_session_valeurs(rf, monde):
    from django.contrib.sessions.backends.db import SessionStore

    requete = rf.get("/")
    requete.session = SessionStore()
    requete.user = Compte.objects.get(pk=monde.acteurs["usager"].compte.pk)
    assert niveau_session(requete) == "local"
    connexions.noter_niveau(requete, "psc")
    assert niveau_session(requete) == "psc" and connexions.niveau_fort(requete)
    connexions.noter_niveau(requete, "fcplus:eidas1")
    assert not connexions.niveau_fort(requete)
    from django.contrib.auth.models import AnonymousUser

    requete.user = AnonymousUser()
    assert niveau_session(requete) is None
