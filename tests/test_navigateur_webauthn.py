"""Clé de sécurité dans Chromium, avec l'authentificateur virtuel du navigateur (CDP « WebAuthn ») :
un compte local sans second facteur choisit la clé sur la page d'activation, l'ajoute, arrive dans
le portail (codes de secours montrés), se déconnecte, puis se reconnecte avec mot de passe et clé.
Le serveur de test écoute sur « localhost » : WebAuthn refuse une adresse IP comme identifiant du
site, et allauth prend l'hôte de la requête."""

import re

import pytest
from allauth.mfa.models import Authenticator

from coordination.journal.models import Evenement
from tests.factories import ProcheFactory, UsagerFactory, compte_connectable
from tests.test_navigateur import assert_console_propre, capturer, se_connecter

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]


def brancher_authentificateur(page) -> tuple:
    """Un authentificateur de plateforme (comme l'empreinte d'un téléphone), qui répond tout seul."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    reponse = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, reponse["authenticatorId"]


def test_premiere_cle_puis_connexion_avec_la_cle(page, live_server):
    assert live_server.url.startswith("http://localhost:")
    usager = UsagerFactory(nom_naissance="MARTIN", prenoms_naissance="Jeanne")
    compte = compte_connectable(email="sophie.martin@exemple.test", totp=False)
    ProcheFactory(usager=usager, compte=compte, prenoms="Sophie", nom="MARTIN")
    cdp, authentificateur = brancher_authentificateur(page)

    # Mot de passe seul : le portail envoie vers l'activation, qui propose la clé.
    se_connecter(page, live_server, compte.email)
    page.wait_for_url(re.compile(r".*/comptes/2fa/totp/activate/$"))
    alternative = page.get_by_role(
        "link", name="Utiliser plutôt une clé de sécurité, l'empreinte ou le visage de votre appareil"
    )
    assert alternative.is_visible()
    capturer(page, "activation-choix-cle")
    alternative.click()

    page.wait_for_url(re.compile(r".*/comptes/2fa/webauthn/add/$"))
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Protéger votre compte avec une clé de sécurité"
    )
    nom = page.get_by_label("Nom de la clé")
    assert nom.input_value() == "Clé principale"
    capturer(page, "cle-ajout")
    nom.fill("Téléphone de Sophie")
    page.get_by_role("button", name="Ajouter la clé").click()

    # La clé est créée par le navigateur, vérifiée par le portail ; codes de secours, puis portail.
    page.wait_for_url(re.compile(r".*/comptes/2fa/recovery-codes/$"))
    assert page.locator(".codes-secours__code").count() == 10
    assert "Clé de sécurité ajoutée." in page.locator(".messages").inner_text()
    capturer(page, "cle-codes-de-secours")
    identifiants = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authentificateur})["credentials"]
    assert len(identifiants) == 1
    cle = Authenticator.objects.get(user=compte, type=Authenticator.Type.WEBAUTHN)
    assert cle.wrap().name == "Téléphone de Sophie"
    assert Evenement.objects.filter(action="second_facteur.ajout", compte_uuid=compte.uuid).exists()

    page.get_by_role("link", name="J'ai noté mes codes, continuer").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "L'accompagnement de Jeanne MARTIN"

    # « Mon compte » : la clé est listée, non retirable (seul second facteur).
    page.get_by_role("link", name="Mon compte").click()
    page.wait_for_url(re.compile(r".*/comptes/2fa/$"))
    section = page.get_by_role("region", name="Clés de sécurité")
    assert "Téléphone de Sophie" in section.inner_text()
    assert section.get_by_role("link", name="Renommer la clé « Téléphone de Sophie »").is_visible()
    assert section.get_by_role("link", name=re.compile("^Retirer")).count() == 0
    capturer(page, "mon-compte-cles")

    # La même clé une deuxième fois : le navigateur refuse, la page le dit en français, dans une zone
    # lue par les lecteurs d'écran (et rien dans la console).
    # (L'ajout de la première clé, il y a moins de 5 minutes, vaut encore confirmation d'identité.)
    section.get_by_role("link", name="Ajouter une clé de sécurité").click()
    page.wait_for_url(re.compile(r".*/comptes/2fa/webauthn/add/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Ajouter une clé de sécurité"
    page.get_by_role("button", name="Ajouter la clé").click()
    erreur = page.locator("#erreur-cle")
    erreur.locator("p").wait_for()
    assert erreur.get_attribute("role") == "alert"
    assert erreur.inner_text() == (
        "Cette clé est déjà enregistrée sur votre compte. Utilisez une autre clé ou un autre appareil."
    )
    capturer(page, "cle-ajout-deja-enregistree")
    assert Authenticator.objects.filter(user=compte, type=Authenticator.Type.WEBAUTHN).count() == 1

    # Confirmer son identité avec la clé (actions sensibles), page en français.
    page.goto(live_server.url + "/comptes/2fa/webauthn/reauthenticate/?next=/comptes/2fa/")
    assert page.get_by_role("heading", level=1).inner_text() == "Confirmer votre identité"
    assert page.get_by_role("link", name="Utiliser mon mot de passe").is_visible()
    capturer(page, "cle-confirmer-identite")
    page.get_by_role("button", name="Utiliser ma clé de sécurité").click()
    page.wait_for_url(re.compile(r".*/comptes/2fa/$"))

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r".*/comptes/login/$"))

    # Reconnexion : mot de passe, puis la clé (pas de code à 6 chiffres sur ce compte).
    se_connecter(page, live_server, compte.email)
    page.wait_for_url(re.compile(r".*/comptes/2fa/authenticate/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Confirmer avec votre clé de sécurité"
    assert page.get_by_label("Code à 6 chiffres").count() == 0
    assert page.get_by_text("Je n'ai plus ma clé : utiliser un code de secours").is_visible()
    bouton = page.get_by_role("button", name="Utiliser ma clé de sécurité")
    capturer(page, "connexion-cle")
    # Au clavier : le bouton se trouve et s'active avec Entrée.
    bouton.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "L'accompagnement de Jeanne MARTIN"
    connexion = Evenement.objects.filter(action="connexion.reussie", compte_uuid=compte.uuid).latest("id")
    assert "mfa" in connexion.details["methodes"]
    assert_console_propre(page)
