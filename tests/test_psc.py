"""Connexion Pro Santé Connect de bout en bout contre le fournisseur du bac à sable
(sandbox/fournisseurs/), en HTTP réel : le client de test de Django pour le portail, `requests`
pour le « navigateur » côté fournisseur. Aucun simulacre du code du portail : les refus viennent
de jetons réellement altérés par le fournisseur (ses `alterations`)."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from coordination.comptes.connexions import SESSION_NIVEAU
from coordination.comptes.models import Compte, FournisseurIdentite, IdentiteExterne
from coordination.journal.models import Evenement
from coordination.personnes.demo import PROFESSIONNELS
from coordination.personnes.models import Exercice, Professionnel
from sandbox.fournisseurs import psc as bac_psc
from sandbox.fournisseurs.oidc import FournisseurOIDC
from sandbox.fournisseurs.serveur import demarrer
from tests import parcours_oidc
from tests.factories import ExerciceFactory, ProfessionnelFactory, StructureFactory, compte_connectable

pytestmark = pytest.mark.django_db

GIRAUD = next(p for p in PROFESSIONNELS if p.cle == "giraud")  # deux situations d'exercice
NGUYEN = next(p for p in PROFESSIONNELS if p.cle == "nguyen")


@pytest.fixture(scope="module")
def serveur_psc():
    serveur = demarrer(bac_psc.fournisseur_psc())
    yield serveur
    serveur.arreter()


@pytest.fixture
def psc(serveur_psc, settings) -> FournisseurOIDC:
    fournisseur = serveur_psc.fournisseur
    client = fournisseur.clients[bac_psc.CLIENT_ID_DEFAUT]
    client.signature, client.userinfo, client.alterations = "HS256", "json", set()
    fournisseur.description = bac_psc.DESCRIPTION
    settings.PSC_EMETTEUR = fournisseur.emetteur
    settings.PSC_CLIENT_ID = bac_psc.CLIENT_ID_DEFAUT
    settings.PSC_CLIENT_SECRET = bac_psc.SECRET_DEFAUT
    settings.PSC_ADRESSE_AUTORISATION = ""
    return fournisseur


CONNEXION = "/comptes/psc/connexion/"


def demarrer_connexion(client) -> tuple[str, dict]:
    return parcours_oidc.demarrer_connexion(client, CONNEXION)


choisir_chez_psc = parcours_oidc.choisir
chemin = parcours_oidc.chemin


def se_connecter(client, psc, identite: str, navigateur: requests.Session | None = None):
    return parcours_oidc.se_connecter(client, psc, CONNEXION, identite, navigateur)


def dernier_echec() -> Evenement:
    return Evenement.objects.filter(action="connexion.psc.echec").latest("horodatage")


def assert_refus(reponse, motif: str, extrait: str) -> None:
    parcours_oidc.assert_refus(
        reponse, nom="Pro Santé Connect", action="connexion.psc.echec", motif=motif, extrait=extrait
    )


# --- Demande d'autorisation ---------------------------------------------------------------------


def test_demande_d_autorisation_conforme_a_psc(client, psc):
    adresse, p = demarrer_connexion(client)
    assert adresse.startswith(psc.base + "/wallet/auth?")  # hôte/chemin « wallet », pas le realm
    assert p["scope"] == "openid scope_all"
    assert p["acr_values"] == "eidas1"
    assert p["code_challenge_method"] == "S256" and len(p["code_challenge"]) == 43
    assert p["redirect_uri"] == "http://testserver/comptes/psc/retour/"
    assert len(p["state"]) >= 32 and len(p["nonce"]) >= 32
    # Le vérificateur PKCE et le nonce restent côté portail, rangés sous le state.
    rangement = client.session["oidc_states"][p["state"]]
    assert rangement["nonce"] == p["nonce"] and rangement["code_verifier"]


def test_bouton_sur_la_page_de_connexion(client, psc):
    texte = client.get("/comptes/login/").content.decode()
    assert 'href="/comptes/psc/connexion/"' in texte
    assert "Se connecter avec Pro Santé Connect" in texte


def test_bouton_inactif_sans_configuration(client, settings):
    settings.PSC_CLIENT_ID = ""
    texte = client.get("/comptes/login/").content.decode()
    assert "/comptes/psc/connexion/" not in texte
    assert "Pro Santé Connect n'est pas configuré sur ce portail." in texte
    assert client.get("/comptes/psc/connexion/").status_code == 404


# --- Parcours réussis ---------------------------------------------------------------------------


def test_parcours_complet_cree_le_professionnel_ses_exercices_et_la_session_forte(client, psc):
    reponse = se_connecter(client, psc, GIRAUD.idnat_ps)
    # Deux situations d'exercice : le portail demande en quelle qualité agir.
    assert reponse.status_code == 302
    assert client.get(reponse["Location"])["Location"].startswith("/qualite/")
    session = client.session
    assert session[SESSION_NIVEAU] == "psc"

    identite = IdentiteExterne.objects.get(fournisseur=FournisseurIdentite.PRO_SANTE_CONNECT)
    assert identite.sub == GIRAUD.idnat_ps  # SubjectNameID, pas le « sub » f:uuid:… du fournisseur
    assert identite.derniere_connexion is not None
    pro = Professionnel.objects.get(idnat_ps=GIRAUD.idnat_ps)
    assert pro.compte == identite.compte
    assert (pro.nom_exercice, pro.prenom_exercice, pro.profession_code) == ("GIRAUD-FICTIF", "Élodie", "60")
    # PSC ne transmet que le code TRE_G15 : le libellé vient de la nomenclature.
    assert pro.profession_libelle == "Infirmier"
    exercices = Exercice.objects.filter(professionnel=pro)
    assert set(exercices.values_list("profession_libelle", flat=True)) == {"Infirmier"}
    structures = set(exercices.values_list("structure__raison_sociale", flat=True))
    assert structures == {"DAC du Val-Fictif (dispositif d'appui à la coordination)", "SSIAD du Val-Fictif"}

    page = client.get("/qualite/")
    assert page.status_code == 200
    assert "Professionnel · Infirmier · SSIAD du Val-Fictif" in page.content.decode()
    cle = next(c["cle"] for c in page.context["choix"] if "SSIAD" in c["libelle"])
    assert client.post("/qualite/", {"cle": cle}).status_code == 302
    assert client.get("/").status_code == 200
    # La session PSC vaut une authentification forte : l'API (qui exige la MFA ou mieux) répond.
    assert client.get("/api/v1/usagers/").status_code == 200

    connexion = Evenement.objects.get(action="connexion.psc")
    assert connexion.details["niveau"] == "eidas1" and connexion.details["activites"] == 2

    # Seconde connexion : même compte, pas de doublon d'exercice ni d'identité.
    client.logout()
    se_connecter(client, psc, GIRAUD.idnat_ps)
    assert IdentiteExterne.objects.count() == 1 and Compte.objects.count() == 1
    assert Exercice.objects.filter(professionnel=pro).count() == 2


def test_professionnel_deja_invite_retrouve_son_compte_par_l_idnat(client, psc):
    compte = compte_connectable(email="thomas.nguyen@exemple.test")
    pro = ProfessionnelFactory(idnat_ps=NGUYEN.idnat_ps, compte=compte, nom_exercice="NGUYEN-FICTIF")
    reponse = se_connecter(client, psc, NGUYEN.idnat_ps)
    assert reponse.status_code == 302
    assert client.session["_auth_user_id"] == str(compte.pk)
    assert IdentiteExterne.objects.get().compte == compte
    assert Compte.objects.count() == 1
    assert Exercice.objects.filter(professionnel=pro).count() == 1
    # Une seule situation d'exercice : prise d'office, accueil direct.
    assert client.get(reponse["Location"]).status_code == 200


def test_jeton_rs256_du_jwks_et_userinfo_en_jwt(client, psc):
    psc.clients[bac_psc.CLIENT_ID_DEFAUT].signature = "RS256"
    psc.clients[bac_psc.CLIENT_ID_DEFAUT].userinfo = "jwt"
    reponse = se_connecter(client, psc, NGUYEN.idnat_ps)
    assert reponse.status_code == 302
    assert IdentiteExterne.objects.get().sub == NGUYEN.idnat_ps


def test_collision_de_courriel_ne_relie_jamais_un_compte_local(client, psc):
    local = compte_connectable(email="homonyme@exemple.test")
    identite = bac_psc.identite_de(NGUYEN)
    identite.revendications = {**identite.revendications, "email": "homonyme@exemple.test"}
    psc.description = dataclasses.replace(bac_psc.DESCRIPTION, identites=lambda: [identite])
    se_connecter(client, psc, NGUYEN.idnat_ps)
    connecte = Compte.objects.get(pk=client.session["_auth_user_id"])
    assert connecte != local
    assert connecte.email == f"psc-{NGUYEN.idnat_ps}@comptes.invalid"
    assert not IdentiteExterne.objects.filter(compte=local).exists()
    assert not Professionnel.objects.filter(compte=local).exists()


# --- Refus --------------------------------------------------------------------------------------


def test_state_rejoue_refuse(client, psc):
    _, parametres = demarrer_connexion(client)
    retour = chemin(choisir_chez_psc(psc, requests.Session(), parametres, NGUYEN.idnat_ps))
    assert client.get(retour).status_code == 302
    client.logout()
    assert_refus(client.get(retour), "etat_inconnu", "ne correspond à aucune connexion en cours")


def test_state_inconnu_refuse(client, psc):
    _, parametres = demarrer_connexion(client)
    retour = choisir_chez_psc(psc, requests.Session(), {**parametres}, NGUYEN.idnat_ps)
    faux = chemin(retour).replace(f"state={parametres['state']}", "state=etat-fabrique")
    assert_refus(client.get(faux), "etat_inconnu", "ne correspond à aucune connexion en cours")
    assert Compte.objects.count() == 0


def test_nonce_different_refuse(client, psc):
    psc.clients[bac_psc.CLIENT_ID_DEFAUT].alterations = {"nonce_different"}
    reponse = se_connecter(client, psc, NGUYEN.idnat_ps)
    assert_refus(reponse, "nonce", "ne correspond pas à votre demande (nonce)")
    assert Compte.objects.count() == 0


def test_verificateur_pkce_manquant_refuse_par_le_fournisseur(client, psc):
    _, parametres = demarrer_connexion(client)
    session = client.session
    session["oidc_states"][parametres["state"]]["code_verifier"] = None  # le portail l'a perdu
    session.save()
    retour = choisir_chez_psc(psc, requests.Session(), parametres, NGUYEN.idnat_ps)
    assert_refus(client.get(chemin(retour)), "jeton_refuse", "PKCE : code_verifier manquant")


def test_jeton_d_identite_expire_refuse(client, psc):
    psc.clients[bac_psc.CLIENT_ID_DEFAUT].alterations = {"id_token_expire"}
    assert_refus(se_connecter(client, psc, NGUYEN.idnat_ps), "jeton_expire", "a expiré")


@pytest.mark.parametrize("signature", ["HS256", "RS256"])
def test_jws_altere_refuse(client, psc, signature):
    psc.clients[bac_psc.CLIENT_ID_DEFAUT].signature = signature
    psc.clients[bac_psc.CLIENT_ID_DEFAUT].alterations = {"signature_alteree"}
    assert_refus(se_connecter(client, psc, NGUYEN.idnat_ps), "signature", "signature du jeton")


def test_kid_inconnu_refuse(client, psc):
    psc.clients[bac_psc.CLIENT_ID_DEFAUT].alterations = {"kid_inconnu"}
    assert_refus(se_connecter(client, psc, NGUYEN.idnat_ps), "cle_inconnue", "clé inconnue")


def test_userinfo_sans_subjectnameid_refuse(client, psc):
    psc.clients[bac_psc.CLIENT_ID_DEFAUT].alterations = {"sans_subjectnameid"}
    assert_refus(se_connecter(client, psc, NGUYEN.idnat_ps), "sans_idnat", "SubjectNameID")
    assert Compte.objects.count() == 0 and not IdentiteExterne.objects.exists()


def test_refus_du_fournisseur_explique(client, psc):
    _, parametres = demarrer_connexion(client)
    reponse = client.get(
        "/comptes/psc/retour/",
        {
            "error": "access_denied",
            "error_description": "annulé par l'utilisateur",
            "state": parametres["state"],
        },
    )
    assert_refus(reponse, "refus_fournisseur", "annulé par l&#x27;utilisateur")


def test_idnat_rattache_a_un_autre_compte_refuse(client, psc):
    autre = compte_connectable(email="autre@exemple.test")
    ProfessionnelFactory(idnat_ps=NGUYEN.idnat_ps, compte=autre)
    IdentiteExterne.objects.create(
        compte=compte_connectable(email="tiers@exemple.test"),
        fournisseur=FournisseurIdentite.PRO_SANTE_CONNECT,
        sub=NGUYEN.idnat_ps,
    )
    reponse = se_connecter(client, psc, NGUYEN.idnat_ps)
    assert reponse.status_code == 403
    assert dernier_echec().details["motif"] == "compte_different"


# --- Déconnexion --------------------------------------------------------------------------------


def test_deconnexion_des_deux_cotes(client, psc):
    navigateur = requests.Session()
    se_connecter(client, psc, NGUYEN.idnat_ps, navigateur)
    assert len(psc.sessions) >= 1
    sessions_avant = set(psc.sessions)
    page = client.get("/").content.decode()
    assert 'action="/comptes/psc/deconnexion/"' in page
    reponse = client.post("/comptes/psc/deconnexion/")
    assert reponse.status_code == 302
    fin = reponse["Location"]
    assert fin.startswith(psc.adresse("logout") + "?")
    p = dict(parse_qsl(urlsplit(fin).query))
    assert p["post_logout_redirect_uri"] == "http://testserver/comptes/login/"
    assert p["id_token_hint"].count(".") == 2
    assert "_auth_user_id" not in client.session
    suite = navigateur.get(fin, allow_redirects=False)
    assert suite.status_code == 302
    assert suite.headers["Location"].startswith("http://testserver/comptes/login/?state=")
    assert len(sessions_avant - set(psc.sessions)) == 1  # la session du fournisseur est fermée
    assert Evenement.objects.filter(action="deconnexion.psc").count() == 1


def test_connexion_locale_non_concernee_par_psc(client, psc):
    """Le dorsal PSC ne répond qu'à sa vue : une connexion par mot de passe n'appelle pas PSC."""
    from django.contrib.auth import authenticate

    compte_connectable(email="local@exemple.test")
    assert authenticate(username="local@exemple.test", password="faux") is None


def test_structure_existante_reprise_par_finess(client, psc):
    ssiad = next(s for s in bac_psc.STRUCTURES if s.cle == "ssiad")
    structure = StructureFactory(finess_eg=ssiad.finess_eg, raison_sociale="SSIAD (nom local)")
    pro = ProfessionnelFactory(idnat_ps=NGUYEN.idnat_ps, compte=None)
    ExerciceFactory(professionnel=pro, structure=structure)
    se_connecter(client, psc, NGUYEN.idnat_ps)
    pro.refresh_from_db()
    assert pro.compte is not None
    exercices = Exercice.objects.filter(professionnel=pro)
    assert list(exercices.values_list("structure", flat=True)) == [structure.pk]


def test_seuls_psc_eidas1_et_fcplus_eidas2_valent_une_authentification_forte(client):
    compte = compte_connectable(email="sans-mfa@exemple.test", totp=False)
    client.force_login(compte, backend="allauth.account.auth_backends.AuthenticationBackend")
    for niveau, forte in (
        ("psc", True),
        ("fcplus:eidas1", False),
        ("fcplus:eidas2", True),
        ("eidas1", False),
        ("", False),
    ):
        session = client.session
        session[SESSION_NIVEAU] = niveau
        session.save()
        reponse = client.get("/")
        if forte:
            assert reponse.status_code == 200, niveau
        else:  # renvoyé vers l'activation du second facteur
            assert reponse.status_code == 302 and "/2fa/" in reponse["Location"], niveau
