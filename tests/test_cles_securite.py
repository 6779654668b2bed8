"""Clé de sécurité (WebAuthn) comme second facteur d'un compte local, à la place ou en plus du code
TOTP (ADR 0014) : première clé depuis la page d'activation, connexion mot de passe + clé, session
sans second facteur refusée, dernier facteur non retirable, « Mon compte », journal.

Les réponses de la clé viennent d'une clé logicielle (tests/cle_virtuelle.py) ; le parcours dans
Chromium avec son authentificateur virtuel est dans test_navigateur_webauthn.py."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal.auth import WebAuthn
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from coordination.comptes.adapters import AdaptateurMFA
from coordination.comptes.connexions import SESSION_NIVEAU, niveau_session
from coordination.comptes.middleware import compte_a_une_mfa
from coordination.journal.libelles import LIBELLES_ACTIONS
from coordination.journal.models import Evenement
from tests.cle_virtuelle import CleVirtuelle
from tests.factories import MOT_DE_PASSE_TEST, ProcheFactory, compte_connectable
from tests.test_pages import code_totp, contenu, verifier_cadre

pytestmark = pytest.mark.django_db

ACCUEIL = "/"
CONNEXION = "/comptes/login/"
AJOUT = reverse("mfa_add_webauthn")


@pytest.fixture(autouse=True)
def cache_vide():
    cache.clear()
    yield
    cache.clear()


def se_connecter(client, compte):
    return client.post(CONNEXION, {"login": compte.email, "password": MOT_DE_PASSE_TEST})


def ajouter_cle(client, cle: CleVirtuelle, nom: str = "Téléphone de Sophie"):
    """Le parcours d'ajout comme dans le navigateur : la page donne les options, la clé y répond."""
    page = client.get(AJOUT)
    assert page.status_code == 200, page
    options = page.context["js_data"]["creation_options"]
    return client.post(AJOUT, {"name": nom, "credential": cle.enregistrer(options)})


def compte_avec_cle(email: str, *, totp: bool = False) -> tuple:
    """Compte local dont le seul second facteur est une clé (enregistrée par le vrai parcours)."""
    from django.test import Client

    compte = compte_connectable(email=email, totp=False)
    ProcheFactory(compte=compte)
    cle = CleVirtuelle()
    navigateur = Client()
    se_connecter(navigateur, compte)
    assert ajouter_cle(navigateur, cle, "Clé principale").status_code == 302
    if totp:
        from allauth.mfa.totp.internal.auth import TOTP

        from tests.factories import SECRET_TOTP_TEST

        TOTP.activate(compte, SECRET_TOTP_TEST)
    return compte, cle


def confirmer_avec_la_cle(client, cle: CleVirtuelle):
    page = client.get(reverse("mfa_authenticate"))
    assert page.status_code == 200
    options = page.context["js_data"]["request_options"]
    return client.post(reverse("mfa_authenticate"), {"credential": cle.signer(options)})


# --- Réglages --------------------------------------------------------------------------------


def test_reglages_cle_sans_connexion_par_cle_seule():
    assert settings.MFA_SUPPORTED_TYPES == ["totp", "webauthn", "recovery_codes"]
    assert settings.MFA_PASSKEY_LOGIN_ENABLED is False
    assert settings.MFA_PASSKEY_SIGNUP_ENABLED is False
    assert settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN is True  # développement et tests : http://localhost
    from allauth.mfa import app_settings

    assert app_settings.PASSKEY_LOGIN_ENABLED is False
    with pytest.raises(Exception):  # noqa: B017 — pas d'adresse de connexion par clé seule
        reverse("mfa_login_webauthn")


# --- Première clé depuis l'activation obligatoire ---------------------------------------------------


def test_activation_propose_la_cle(client):
    compte = compte_connectable(email="nouvelle@exemple.test", totp=False)
    se_connecter(client, compte)
    assert client.get(ACCUEIL).url == reverse("mfa_activate_totp")
    html = contenu(client.get(reverse("mfa_activate_totp")))
    assert f'href="{AJOUT}"' in html
    assert "Utiliser plutôt une clé de sécurité, l'empreinte ou le visage de votre appareil" in html


def test_premiere_cle_ouvre_le_portail_et_donne_les_codes_de_secours(
    client, django_capture_on_commit_callbacks
):
    compte = compte_connectable(email="sophie@exemple.test", totp=False)
    ProcheFactory(compte=compte)
    se_connecter(client, compte)

    # Page d'ajout : sans mot de passe redemandé, en français, sans navigation (étape obligatoire).
    page = client.get(AJOUT)
    assert page.status_code == 200
    analyse = verifier_cadre(page, navigation=False)
    html = contenu(page)
    assert "<h1>Protéger votre compte avec une clé de sécurité</h1>" in html
    assert analyse.a("label", **{"for": "id_name"})
    assert analyse.a("input", id="id_name", value="Clé principale")
    assert analyse.a("button", id="mfa_webauthn_add", type="button")
    assert "Ajouter la clé" in html
    assert analyse.a("script", src="/static/mfa/js/webauthn.js")
    assert analyse.a("script", src="/static/js/cle-securite.js")
    assert f'href="{reverse("mfa_activate_totp")}"' in html  # retour au code à 6 chiffres
    options = page.context["js_data"]["creation_options"]
    assert options["publicKey"]["rp"]["id"] == "testserver"  # l'hôte de la requête

    with django_capture_on_commit_callbacks(execute=True):  # allauth signale les codes après le commit
        reponse = client.post(
            AJOUT, {"name": "Téléphone de Sophie", "credential": CleVirtuelle().enregistrer(options)}
        )
    assert reponse.status_code == 302
    assert reponse.url == reverse("mfa_view_recovery_codes")
    cle = Authenticator.objects.get(user=compte, type=Authenticator.Type.WEBAUTHN)
    assert cle.wrap().name == "Téléphone de Sophie"
    assert compte_a_une_mfa(compte)

    # Codes de secours créés par allauth, montrés tout de suite, sans redemander quoi que ce soit.
    codes = client.get(reponse.url)
    assert codes.status_code == 200
    assert contenu(codes).count('class="codes-secours__code"') == settings.MFA_RECOVERY_CODE_COUNT
    assert "Clé de sécurité ajoutée." in contenu(codes)

    # Le portail s'ouvre : la session a franchi le second facteur.
    accueil = client.get(ACCUEIL)
    assert accueil.status_code == 200
    assert client.session[SESSION_NIVEAU] == "local+mfa"

    # Journal : la clé puis les codes de secours.
    ajouts = Evenement.objects.filter(action="second_facteur.ajout", compte_uuid=compte.uuid).order_by("id")
    assert [e.details for e in ajouts] == [
        {"type": "cle_securite", "nom": "Téléphone de Sophie"},
        {"type": "codes_secours"},
    ]
    assert all(e.objet_type == "comptes.compte" and e.objet_uuid == compte.uuid for e in ajouts)


def test_cle_refusee_si_la_reponse_ne_correspond_pas(client):
    compte = compte_connectable(email="sophie@exemple.test", totp=False)
    se_connecter(client, compte)
    page = client.get(AJOUT)
    reponse_autre_defi = CleVirtuelle().enregistrer(page.context["js_data"]["creation_options"])
    client.get(AJOUT)  # nouveau défi : la réponse précédente ne vaut plus
    reponse = client.post(AJOUT, {"name": "Clé", "credential": reponse_autre_defi})
    assert reponse.status_code == 200
    assert "La clé n'a pas pu être enregistrée" in contenu(reponse)
    assert not compte_a_une_mfa(compte)
    assert client.get(ACCUEIL).url == reverse("mfa_activate_totp")


# --- Connexion avec la clé ----------------------------------------------------------------------


def test_connexion_mot_de_passe_puis_cle(client):
    compte, cle = compte_avec_cle("sophie@exemple.test")
    reponse = se_connecter(client, compte)
    assert reponse.url == reverse("mfa_authenticate")

    page = client.get(reponse.url)
    analyse = verifier_cadre(page, navigation=False)
    html = contenu(page)
    assert "<h1>Confirmer avec votre clé de sécurité</h1>" in html
    assert analyse.a("button", id="mfa_webauthn_authenticate", type="button")
    assert "Utiliser ma clé de sécurité" in html
    assert not analyse.a("input", id="id_code")  # pas de TOTP sur ce compte
    assert analyse.a("input", id="id_code_secours")  # les codes de secours en recours
    assert "Je n'ai plus ma clé : utiliser un code de secours" in html
    assert "_auth_user_id" not in client.session

    # Une autre clé (ou une réponse fabriquée) ne passe pas.
    reponse = confirmer_avec_la_cle(client, CleVirtuelle())
    assert reponse.status_code == 200
    assert "La clé de sécurité n'a pas été reconnue" in contenu(reponse)
    assert "_auth_user_id" not in client.session

    reponse = confirmer_avec_la_cle(client, cle)
    assert reponse.status_code == 302 and reponse.url == ACCUEIL
    assert client.get(ACCUEIL).status_code == 200
    assert client.session[SESSION_NIVEAU] == "local+mfa"
    connexion = Evenement.objects.filter(action="connexion.reussie", compte_uuid=compte.uuid).latest("id")
    assert set(connexion.details["methodes"]) >= {"password", "mfa"}
    assert Authenticator.objects.get(user=compte, type="webauthn").last_used_at is not None


def test_code_de_secours_a_la_place_de_la_cle(client):
    compte, _ = compte_avec_cle("sophie@exemple.test")
    code = Authenticator.objects.get(user=compte, type="recovery_codes").wrap().get_unused_codes()[0]
    se_connecter(client, compte)
    reponse = client.post(reverse("mfa_authenticate"), {"code": code})
    assert reponse.status_code == 302 and reponse.url == ACCUEIL


def test_compte_avec_code_et_cle_voit_les_deux(client):
    compte, cle = compte_avec_cle("sophie@exemple.test", totp=True)
    se_connecter(client, compte)
    page = client.get(reverse("mfa_authenticate"))
    analyse = verifier_cadre(page, navigation=False)
    html = contenu(page)
    assert "<h1>Code de vérification</h1>" in html
    assert analyse.a("input", id="id_code")
    assert "Ou bien, avec votre clé de sécurité" in html
    assert analyse.a("button", id="mfa_webauthn_authenticate")
    assert client.post(reverse("mfa_authenticate"), {"code": code_totp()}).url == ACCUEIL


def test_compte_sans_cle_ne_voit_pas_le_bouton(client):
    compte = compte_connectable(email="camille@exemple.test")
    se_connecter(client, compte)
    html = contenu(client.get(reverse("mfa_authenticate")))
    assert "Utiliser ma clé de sécurité" not in html
    assert "webauthn.js" not in html


# --- Session sans second facteur -------------------------------------------------------------------


def test_session_mot_de_passe_seul_refusee_si_une_cle_est_ajoutee_ailleurs(client):
    """Comme pour le TOTP : une session ouverte par mot de passe seul avant l'ajout d'une clé (depuis
    un autre navigateur) ne vaut rien, ni pour le portail ni pour gérer le second facteur."""
    compte = compte_connectable(email="tardif@exemple.test", totp=False)
    se_connecter(client, compte)
    assert client.get(ACCUEIL).url == reverse("mfa_activate_totp")
    compte_avec_cle_existante = compte  # la clé est ajoutée depuis un autre navigateur
    from django.test import Client

    autre = Client()
    se_connecter(autre, compte_avec_cle_existante)
    assert ajouter_cle(autre, CleVirtuelle()).status_code == 302

    for chemin in (AJOUT, reverse("mfa_view_recovery_codes")):
        reponse = client.get(chemin)
        assert reponse.status_code == 302 and reponse.url.startswith(CONNEXION), chemin
        assert "_auth_user_id" not in client.session
        se_connecter(client, compte)  # mot de passe seul : le second facteur est demandé
        assert "_auth_user_id" not in client.session
    reponse = se_connecter(client, compte)
    assert reponse.url == reverse("mfa_authenticate")


def test_compte_a_une_mfa_compte_les_cles_pas_les_codes_seuls():
    compte = compte_connectable(email="x@exemple.test", totp=False)
    assert not compte_a_une_mfa(compte)
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    RecoveryCodes.activate(compte)
    assert not compte_a_une_mfa(compte)
    compte2, _ = compte_avec_cle("y@exemple.test")
    assert compte_a_une_mfa(compte2)


# --- « Mon compte » : liste, renommage, retrait ---------------------------------------------------


def _client_connecte_par_la_cle(client, compte, cle):
    se_connecter(client, compte)
    assert confirmer_avec_la_cle(client, cle).url == ACCUEIL
    return client


def confirmer_son_identite(client, cle: CleVirtuelle | None = None) -> None:
    """Actions sensibles (ajouter, renommer, retirer une clé) : allauth redemande une preuve récente,
    le mot de passe ou, si `cle`, la clé de sécurité."""
    if cle is None:
        reponse = client.post(reverse("account_reauthenticate"), {"password": MOT_DE_PASSE_TEST})
    else:
        page = client.get(reverse("mfa_reauthenticate_webauthn"))
        options = page.context["js_data"]["request_options"]
        reponse = client.post(reverse("mfa_reauthenticate_webauthn"), {"credential": cle.signer(options)})
    assert reponse.status_code == 302, reponse


def test_mon_compte_liste_les_cles(client):
    compte, cle = compte_avec_cle("sophie@exemple.test")
    _client_connecte_par_la_cle(client, compte, cle)
    page = client.get(reverse("mfa_index"))
    analyse = verifier_cadre(page)
    html = contenu(page)
    assert '<h2 id="titre-cles" class="carte__titre">Clés de sécurité</h2>' in html
    assert '<p class="cle__nom">Clé principale</p>' in html
    cle_db = Authenticator.objects.get(user=compte, type="webauthn")
    assert analyse.a("a", href=reverse("mfa_edit_webauthn", kwargs={"pk": cle_db.pk}))
    # Seul second facteur : pas de bouton « Retirer », une explication à la place.
    assert not analyse.a("a", href=reverse("mfa_remove_webauthn", kwargs={"pk": cle_db.pk}))
    assert "C'est votre seul second facteur" in html
    assert analyse.a("a", href=AJOUT)
    assert "Activer aussi le code à 6 chiffres" in html
    # L'ancienne liste d'allauth (en anglais) renvoie vers « Mon compte ».
    assert client.get(reverse("mfa_list_webauthn")).url == reverse("mfa_index")


def test_renommer_une_cle(client):
    compte, cle = compte_avec_cle("sophie@exemple.test")
    _client_connecte_par_la_cle(client, compte, cle)
    cle_db = Authenticator.objects.get(user=compte, type="webauthn")
    adresse = reverse("mfa_edit_webauthn", kwargs={"pk": cle_db.pk})
    reponse = client.get(adresse)
    assert reponse.status_code == 302 and reponse.url.startswith(reverse("account_reauthenticate"))
    confirmer_son_identite(client)
    page = client.get(adresse)
    analyse = verifier_cadre(page)
    assert "<h1>Renommer la clé</h1>" in contenu(page)
    assert analyse.a("input", id="id_name", value="Clé principale")
    reponse = client.post(adresse, {"name": "Ordinateur du bureau"})
    assert reponse.status_code == 302 and reponse.url == reverse("mfa_index")
    cle_db.refresh_from_db()
    assert cle_db.wrap().name == "Ordinateur du bureau"


def test_le_dernier_second_facteur_ne_se_retire_pas(client):
    compte, cle = compte_avec_cle("sophie@exemple.test")
    _client_connecte_par_la_cle(client, compte, cle)
    cle_db = Authenticator.objects.get(user=compte, type="webauthn")
    adresse = reverse("mfa_remove_webauthn", kwargs={"pk": cle_db.pk})
    confirmer_son_identite(client, cle)

    page = client.get(adresse)
    assert page.status_code == 200
    verifier_cadre(page)
    html = contenu(page)
    assert "Cette clé est votre seul second facteur : elle ne peut pas être retirée." in html
    assert "Retirer la clé</button>" not in html

    reponse = client.post(adresse)  # même en forçant le formulaire
    assert reponse.status_code == 302 and reponse.url == reverse("mfa_index")
    assert Authenticator.objects.filter(pk=cle_db.pk).exists()
    assert Authenticator.objects.filter(user=compte, type="recovery_codes").exists()
    assert "ne peut pas être retirée" in contenu(client.get(reponse.url))
    assert not Evenement.objects.filter(action="second_facteur.retrait").exists()
    assert client.get(ACCUEIL).status_code == 200


def test_retrait_d_une_cle_quand_il_en_reste_une_autre(client):
    compte, cle = compte_avec_cle("sophie@exemple.test")
    _client_connecte_par_la_cle(client, compte, cle)
    confirmer_son_identite(client, cle)
    # Déjà des codes de secours : pas de nouveaux, retour à « Mon compte ».
    assert ajouter_cle(client, CleVirtuelle(), "Clé USB bleue").url == reverse("mfa_index")
    bleue = Authenticator.objects.get(user=compte, type="webauthn", data__name="Clé USB bleue")
    adresse = reverse("mfa_remove_webauthn", kwargs={"pk": bleue.pk})

    page = client.get(adresse)
    assert "<h1>Retirer la clé « Clé USB bleue »</h1>" in contenu(page)
    reponse = client.post(adresse)
    assert reponse.status_code == 302 and reponse.url == reverse("mfa_index")
    assert not Authenticator.objects.filter(pk=bleue.pk).exists()
    assert "Clé de sécurité retirée." in contenu(client.get(reponse.url))
    retrait = Evenement.objects.get(action="second_facteur.retrait", compte_uuid=compte.uuid)
    assert retrait.details == {"type": "cle_securite", "nom": "Clé USB bleue"}
    # Les codes de secours restent : il reste une clé.
    assert Authenticator.objects.filter(user=compte, type="recovery_codes").exists()


def test_regle_de_retrait_de_l_adaptateur():
    adaptateur = AdaptateurMFA()
    compte, _ = compte_avec_cle("sophie@exemple.test")
    seule = Authenticator.objects.get(user=compte, type="webauthn")
    assert not adaptateur.can_delete_authenticator(seule)
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.factories import SECRET_TOTP_TEST

    totp = TOTP.activate(compte, SECRET_TOTP_TEST).instance
    assert adaptateur.can_delete_authenticator(seule)  # le TOTP reste
    assert not adaptateur.can_delete_authenticator(totp)  # le TOTP ne se supprime jamais
    autre = WebAuthn.add(compte, "Autre", seule.data["credential"]).instance
    assert adaptateur.can_delete_authenticator(autre)


# --- Confirmer son identité avec la clé -----------------------------------------------------------


def test_confirmer_son_identite_avec_la_cle(client):
    compte, cle = compte_avec_cle("sophie@exemple.test")
    _client_connecte_par_la_cle(client, compte, cle)
    page = client.get(reverse("mfa_reauthenticate_webauthn"))
    assert page.status_code == 200
    analyse = verifier_cadre(page, navigation=False)
    html = contenu(page)
    assert "Confirmer votre identité" in html
    assert analyse.a("button", id="mfa_webauthn_reauthenticate")
    assert "Utiliser ma clé de sécurité" in html
    # Les autres moyens, en français.
    assert "Utiliser mon mot de passe" in html
    assert "Autres possibilités" in html
    # Pas d'application sur ce compte : seuls les codes de secours se saisissent.
    assert "Utiliser un code de secours" in html
    assert "code à 6 chiffres" not in html
    page = client.get(reverse("mfa_reauthenticate"))
    analyse = verifier_cadre(page, navigation=False)
    assert analyse.a("label", **{"for": "id_code"})
    assert "Code de secours" in contenu(page) and "Code à 6 chiffres" not in contenu(page)


def test_libelles_du_journal():
    assert "second_facteur.ajout" in LIBELLES_ACTIONS
    assert "second_facteur.retrait" in LIBELLES_ACTIONS


def test_niveau_de_session_apres_la_cle(client, rf):
    compte, cle = compte_avec_cle("sophie@exemple.test")
    _client_connecte_par_la_cle(client, compte, cle)
    requete = rf.get("/")
    requete.user = compte
    requete.session = client.session
    assert niveau_session(requete) == "local+mfa"


@pytest.mark.parametrize("route", ["mfa_edit_webauthn", "mfa_remove_webauthn"])
def test_cle_d_un_autre_compte_ni_renommee_ni_retiree(client, route):
    """Anonyme : vers la connexion ; un autre compte (même confirmé) : 404. La clé reste intacte."""
    proprietaire, _ = compte_avec_cle("sophie@exemple.test")
    autre, cle_autre = compte_avec_cle("martine@exemple.test")
    cle_db = Authenticator.objects.get(user=proprietaire, type="webauthn")
    nom_avant = cle_db.wrap().name
    adresse = reverse(route, kwargs={"pk": cle_db.pk})

    anonyme = client.post(adresse, {"name": "Volée"})
    assert anonyme.status_code == 302 and anonyme.url.startswith(CONNEXION)

    _client_connecte_par_la_cle(client, autre, cle_autre)
    confirmer_son_identite(client, cle_autre)
    assert client.get(adresse).status_code == 404
    assert client.post(adresse, {"name": "Volée"}).status_code == 404
    cle_db.refresh_from_db()
    assert cle_db.wrap().name == nom_avant
    assert Authenticator.objects.filter(user=proprietaire, type="webauthn").count() == 1
    assert not Evenement.objects.filter(action="second_facteur.retrait").exists()
