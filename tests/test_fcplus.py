"""Connexion FranceConnect+ de bout en bout contre le fournisseur du bac à sable
(sandbox/fournisseurs/fcplus.py), en HTTP réel : le client de test de Django pour le portail,
`requests` pour le « navigateur » côté fournisseur, et le portail lui-même servi en HTTP dans un fil
pour que le fournisseur lise son JWKS de chiffrement à son `jwks_uri`. Aucun simulacre du code du
portail : les refus viennent de jetons réellement altérés par le fournisseur (ses `alterations`)."""

from __future__ import annotations

import datetime
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.utils import timezone

from coordination.comptes import cles_fcplus, invitations
from coordination.comptes.acteur import acteur_systeme
from coordination.comptes.connexions import SESSION_NIVEAU
from coordination.comptes.models import (
    Compte,
    FournisseurIdentite,
    IdentiteExterne,
    Invitation,
    TypeInvitation,
)
from coordination.journal.models import Evenement
from coordination.personnes.demo import USAGERS
from coordination.personnes.forms import UsagerForm
from coordination.personnes.models import Proche
from coordination.personnes.services import TRAITS_INS, modifier_identite_usager
from sandbox.fournisseurs import fcplus as bac_fcplus
from sandbox.fournisseurs.oidc import FournisseurOIDC, defi_pkce
from sandbox.fournisseurs.serveur import ServeurWSGI, demarrer
from tests import parcours_oidc
from tests.factories import ProcheFactory, UsagerFactory, compte_connectable

pytestmark = pytest.mark.django_db

DEMO = {u.cle: u for u in USAGERS}
CODE = "ABCD-EFGH-JKMN-PQRS"


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cles():
    """Deux clés de chiffrement du portail (courante et suivante), générées une fois."""
    return cles_fcplus.nouvelle_cle(kid="cle-a"), cles_fcplus.nouvelle_cle(kid="cle-b")


def jwks_prive(*cles) -> str:
    return json.dumps({"keys": [c.as_dict(private=True) for c in cles]})


@pytest.fixture(scope="module")
def portail_http():
    """Le portail (application WSGI de Django) en HTTP, pour la lecture de son JWKS."""
    serveur = ServeurWSGI(get_wsgi_application())
    yield serveur
    serveur.arreter()


@pytest.fixture(scope="module")
def serveur_fcplus(portail_http):
    serveur = demarrer(
        bac_fcplus.fournisseur_fcplus(jwks_uri=portail_http.adresse + bac_fcplus.CHEMIN_JWKS_PORTAIL)
    )
    yield serveur
    serveur.arreter()


@pytest.fixture
def fcplus(serveur_fcplus, settings, cles) -> FournisseurOIDC:
    fournisseur = serveur_fcplus.fournisseur
    client = fournisseur.clients[bac_fcplus.CLIENT_ID_DEFAUT]
    client.alterations, client.kid_chiffrement, client.jwks_en_cache = set(), "", None
    settings.FCPLUS_EMETTEUR = fournisseur.emetteur
    settings.FCPLUS_CLIENT_ID = bac_fcplus.CLIENT_ID_DEFAUT
    settings.FCPLUS_CLIENT_SECRET = bac_fcplus.SECRET_DEFAUT
    settings.FCPLUS_CLES_CHIFFREMENT = jwks_prive(cles[0])
    settings.FCPLUS_CLES_CHIFFREMENT_FICHIER = ""
    # Pas de cache.clear() : Redis est partagé par les processus de pytest-xdist (sessions
    # cached_db des autres tests). Seul le compteur d'essais de codes d'invitation est remis à zéro.
    cache.delete("invitation:essais:ip:127.0.0.1")
    return fournisseur


def usager_demo(cle: str, **champs):
    u = DEMO[cle]
    valeurs = {
        "nom_naissance": u.nom_naissance, "prenoms_naissance": u.prenoms_naissance,
        "date_naissance": u.date_naissance, "sexe": u.sexe, "code_lieu_naissance": u.code_lieu_naissance,
    }  # fmt: skip
    return UsagerFactory(**(valeurs | champs))


def invitation_pour(proche: Proche, code: str = CODE, type_=TypeInvitation.PROCHE) -> Invitation:
    return Invitation.objects.create(
        type=type_, proche=proche, empreinte_code=invitations.empreinte(code),
        expire_le=timezone.now() + datetime.timedelta(days=3),
    )  # fmt: skip


CONNEXION = "/comptes/fcplus/connexion/"


def demarrer_connexion(client) -> tuple[str, dict]:
    return parcours_oidc.demarrer_connexion(client, CONNEXION)


choisir = parcours_oidc.choisir
chemin = parcours_oidc.chemin


def se_connecter(client, fcplus, identite: str, navigateur: requests.Session | None = None):
    return parcours_oidc.se_connecter(client, fcplus, CONNEXION, identite, navigateur)


def dernier_echec() -> Evenement:
    return Evenement.objects.filter(action="connexion.fcplus.echec").latest("horodatage")


def assert_refus(reponse, motif: str, extrait: str) -> None:
    parcours_oidc.assert_refus(
        reponse, nom="FranceConnect+", action="connexion.fcplus.echec", motif=motif, extrait=extrait
    )


def identites_fcplus() -> int:
    return IdentiteExterne.objects.filter(fournisseur=FournisseurIdentite.FRANCECONNECT_PLUS).count()


# --- Demande, bouton, JWKS ----------------------------------------------------------------------


def test_demande_d_autorisation_conforme_a_fcplus(client, fcplus):
    adresse, p = demarrer_connexion(client)
    assert adresse.startswith(fcplus.base + "/api/v2/authorize?")
    assert p["acr_values"] == "eidas2" and p["prompt"] == "login"
    assert p["scope"] == "openid identite_pivot preferred_username email"
    assert p["redirect_uri"] == "http://testserver/comptes/fcplus/retour/"
    assert len(p["state"]) >= 32 and len(p["nonce"]) >= 32
    assert p["code_challenge_method"] == "S256" and len(p["code_challenge"]) == 43
    rangement = client.session["oidc_states"][p["state"]]
    assert rangement["nonce"] == p["nonce"] and rangement["code_verifier"]


def test_bouton_sur_la_page_de_connexion(client, fcplus, settings):
    texte = client.get("/comptes/login/").content.decode()
    assert 'href="/comptes/fcplus/connexion/"' in texte
    assert "S'identifier avec <strong>FranceConnect+</strong>" in texte
    settings.FCPLUS_CLIENT_ID = ""
    texte = client.get("/comptes/login/").content.decode()
    assert "/comptes/fcplus/connexion/" not in texte
    assert "FranceConnect+ n'est pas configuré sur ce portail." in texte
    assert client.get("/comptes/fcplus/connexion/").status_code == 404


def test_jwks_public_du_portail_sans_partie_privee(client, fcplus, settings, cles):
    settings.FCPLUS_CLES_CHIFFREMENT = jwks_prive(*cles)
    document = client.get("/comptes/fcplus/jwks.json").json()
    assert [c["kid"] for c in document["keys"]] == ["cle-a", "cle-b"]  # courante d'abord
    for cle in document["keys"]:
        assert cle["use"] == "enc" and cle["alg"] == "RSA-OAEP" and cle["kty"] == "RSA"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(cle)


def test_cles_pem_acceptees_kid_par_empreinte(client, fcplus, settings, cles):
    settings.FCPLUS_CLES_CHIFFREMENT = cles[0].as_pem(private=True).decode()
    (cle,) = client.get("/comptes/fcplus/jwks.json").json()["keys"]
    assert cle["kid"] == cles[0].thumbprint()


# --- Parcours réussis ---------------------------------------------------------------------------


def test_usager_relie_par_ses_traits_puis_reconnu_par_son_sub(client, fcplus):
    usager = usager_demo("marcelle")
    reponse = se_connecter(client, fcplus, "marcelle")
    assert reponse.status_code == 302 and reponse["Location"] == "/"
    assert client.session[SESSION_NIVEAU] == "fcplus:eidas2"
    identite = IdentiteExterne.objects.get(fournisseur=FournisseurIdentite.FRANCECONNECT_PLUS)
    assert len(identite.sub) == 67 and identite.sub.endswith("v")  # pairwise, format FC+
    usager.refresh_from_db()
    assert usager.compte == identite.compte
    assert identite.compte.email.endswith("@comptes.invalid")  # le courriel de FC+ n'est pas repris
    assert sorted(usager.champs_figes) == sorted(TRAITS_INS)
    page = client.get("/")
    assert page.status_code == 200 and "LAMBERT-FICTIF" in page.content.decode()
    assert Evenement.objects.get(action="connexion.fcplus.liaison").details["par"] == "traits"
    assert Evenement.objects.get(action="connexion.fcplus").details == {
        "methode": "fcplus", "niveau": "eidas2", "liaison": "traits",
    }  # fmt: skip
    # Connexion suivante : reconnu par le sub, aucun nouveau compte.
    client.logout()
    assert se_connecter(client, fcplus, "marcelle").status_code == 302
    assert client.session["_auth_user_id"] == str(identite.compte.pk)
    assert identites_fcplus() == 1 and Compte.objects.count() == 1
    assert Evenement.objects.filter(action="connexion.fcplus").latest("horodatage").details["liaison"] == (
        "existante"
    )


def test_usager_ne_a_l_etranger_relie_par_le_code_du_pays(client, fcplus):
    usager = usager_demo("ana")  # née au Portugal : birthplace vide, birthcountry 99139
    assert se_connecter(client, fcplus, "ana").status_code == 302
    usager.refresh_from_db()
    assert usager.compte_id is not None


def test_accents_casse_et_tirets_normalises(client, fcplus):
    usager = usager_demo("lucien", nom_naissance="Bernard fictif", prenoms_naissance="lucien-paul")
    assert se_connecter(client, fcplus, "lucien").status_code == 302
    usager.refresh_from_db()
    assert usager.compte_id is not None


def test_aidant_relie_par_son_code_d_invitation(client, fcplus):
    proche = ProcheFactory(
        usager=usager_demo("nicolas"), prenoms="Martine", nom="FAURE-FICTIF", lien="representant_legal",
        mesure_protection="tutelle", precision_lien="mère, tutrice",
    )  # fmt: skip
    invitation_pour(proche)
    reponse = se_connecter(client, fcplus, "martine")
    assert reponse.status_code == 302 and reponse["Location"] == "/comptes/fcplus/invitation/"
    assert "_auth_user_id" not in client.session
    page = client.get("/comptes/fcplus/invitation/").content.decode()
    assert "Relier votre identité FranceConnect+" in page and "Martine FAURE-FICTIF" in page
    # Un code erroné : message clair, journal, rien de créé.
    faux = client.post("/comptes/fcplus/invitation/", {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"})
    assert faux.status_code == 400 and "ce code n&#x27;existe pas" in faux.content.decode()
    assert Evenement.objects.filter(action="invitation.code_refuse").count() == 1
    assert Compte.objects.count() == 0 and identites_fcplus() == 0
    # Le bon code : compte FC+ créé et relié au proche.
    reponse = client.post("/comptes/fcplus/invitation/", {"code": CODE.lower().replace("-", " ")})
    assert reponse.status_code == 302 and reponse["Location"] == "/"
    proche.refresh_from_db()
    identite = IdentiteExterne.objects.get(fournisseur=FournisseurIdentite.FRANCECONNECT_PLUS)
    assert proche.compte == identite.compte
    assert client.session[SESSION_NIVEAU] == "fcplus:eidas2"
    assert client.get("/").status_code == 200
    assert Evenement.objects.get(action="connexion.fcplus.liaison").details["par"] == "invitation"
    assert Evenement.objects.filter(action="invitation.utilisation").count() == 1
    # Retour suivant : reconnu par le sub, sans code.
    client.logout()
    assert se_connecter(client, fcplus, "martine")["Location"] == "/"


def test_invitation_du_personnel_non_reliee_a_fcplus(client, fcplus):
    from tests.factories import StructureFactory

    Invitation.objects.create(
        type=TypeInvitation.PERSONNEL, structure=StructureFactory(), nom="X", prenom="Y", fonction="AES",
        empreinte_code=invitations.empreinte(CODE), expire_le=timezone.now() + datetime.timedelta(days=1),
    )  # fmt: skip
    se_connecter(client, fcplus, "martine")
    reponse = client.post("/comptes/fcplus/invitation/", {"code": CODE})
    assert reponse.status_code == 400 and "personne de l&#x27;équipe" in reponse.content.decode()
    assert Compte.objects.count() == 0


def test_annuler_la_liaison(client, fcplus):
    se_connecter(client, fcplus, "martine")
    reponse = client.post("/comptes/fcplus/invitation/", {"annuler": "1"})
    assert reponse["Location"] == "/comptes/login/"
    assert dernier_echec().details["motif"] == "liaison_abandonnee"
    assert_refus(client.get("/comptes/fcplus/invitation/"), "liaison_expiree", "délai")


# --- Jamais de liaison par courriel ---------------------------------------------------------------


def test_collision_de_courriel_aidant_jamais_relie_et_averti(client, fcplus):
    local = compte_connectable(email="aidante@demo.invalid")
    proche = ProcheFactory(prenoms="Sophie", nom="MARTIN-FICTIF")
    invitation_pour(proche)
    se_connecter(client, fcplus, "sophie")
    page = client.get("/comptes/fcplus/invitation/").content.decode()
    assert "ne relie jamais deux comptes par leur adresse électronique" in page
    collision = Evenement.objects.get(action="connexion.fcplus.courriel_non_relie")
    assert collision.resultat == "refuse" and collision.details["motif"] == "collision_courriel"
    client.post("/comptes/fcplus/invitation/", {"code": CODE})
    connecte = Compte.objects.get(pk=client.session["_auth_user_id"])
    assert connecte != local
    assert not IdentiteExterne.objects.filter(compte=local).exists()
    proche.refresh_from_db()
    assert proche.compte == connecte


def test_collision_de_courriel_usager_relie_par_ses_traits_seulement(client, fcplus):
    local = compte_connectable(email="marcelle.fcplus@demo.invalid")
    usager = usager_demo("marcelle")
    reponse = se_connecter(client, fcplus, "marcelle")
    assert reponse.status_code == 302
    usager.refresh_from_db()
    assert usager.compte_id not in (None, local.pk)
    assert not IdentiteExterne.objects.filter(compte=local).exists()
    assert Evenement.objects.filter(action="connexion.fcplus.courriel_non_relie").count() == 1
    page = client.get("/", follow=True).content.decode()
    assert "ne relie jamais deux comptes par leur adresse électronique" in page


# --- Refus ----------------------------------------------------------------------------------------


def test_traits_presque_identiques_refuses(client, fcplus):
    usager_demo("robert")  # FC+ transmet un autre lieu de naissance (96026)
    reponse = se_connecter(client, fcplus, "robert-presque")
    assert_refus(reponse, "traits_partiels", "ne correspond pas exactement")
    assert Compte.objects.count() == 0


def test_traits_ambigus_refuses(client, fcplus):
    usager_demo("marcelle")
    usager_demo("marcelle")
    assert_refus(se_connecter(client, fcplus, "marcelle"), "traits_ambigus", "Plusieurs dossiers")
    assert Compte.objects.count() == 0


def test_usager_ayant_deja_un_compte_refuse(client, fcplus):
    usager_demo("marcelle", compte=compte_connectable(email="marcelle@exemple.test"))
    assert_refus(se_connecter(client, fcplus, "marcelle"), "usager_deja_relie", "déjà un compte")
    assert identites_fcplus() == 0


def test_niveau_eidas1_refuse(client, fcplus):
    usager_demo("lucien")
    reponse = se_connecter(client, fcplus, "lucien-eidas1")
    assert_refus(reponse, "niveau", "niveau de sécurité suffisant")
    assert Compte.objects.count() == 0


def test_state_rejoue_refuse(client, fcplus):
    usager_demo("marcelle")
    _, parametres = demarrer_connexion(client)
    retour = chemin(choisir(fcplus, requests.Session(), parametres, "marcelle"))
    assert client.get(retour).status_code == 302
    client.logout()
    assert_refus(client.get(retour), "etat_inconnu", "ne correspond à aucune connexion en cours")


def test_state_inconnu_refuse(client, fcplus):
    _, parametres = demarrer_connexion(client)
    retour = chemin(choisir(fcplus, requests.Session(), parametres, "marcelle"))
    faux = retour.replace(f"state={parametres['state']}", "state=etat-fabrique-de-toutes-pieces")
    assert_refus(client.get(faux), "etat_inconnu", "ne correspond à aucune connexion en cours")


def test_nonce_different_refuse(client, fcplus):
    fcplus.clients[bac_fcplus.CLIENT_ID_DEFAUT].alterations = {"nonce_different"}
    assert_refus(se_connecter(client, fcplus, "marcelle"), "nonce", "(nonce)")


def test_verificateur_pkce_manquant_refuse_par_le_fournisseur(client, fcplus):
    _, parametres = demarrer_connexion(client)
    session = client.session
    session["oidc_states"][parametres["state"]]["code_verifier"] = None  # le portail l'a perdu
    session.save()
    retour = choisir(fcplus, requests.Session(), parametres, "marcelle")
    assert_refus(client.get(chemin(retour)), "jeton_refuse", "PKCE : code_verifier manquant")


def test_jeton_d_identite_expire_refuse(client, fcplus):
    fcplus.clients[bac_fcplus.CLIENT_ID_DEFAUT].alterations = {"id_token_expire"}
    assert_refus(se_connecter(client, fcplus, "marcelle"), "jeton_expire", "a expiré")


def test_jws_altere_refuse(client, fcplus):
    fcplus.clients[bac_fcplus.CLIENT_ID_DEFAUT].alterations = {"signature_alteree"}
    assert_refus(se_connecter(client, fcplus, "marcelle"), "signature", "signature du jeton")


def test_jwe_altere_refuse(client, fcplus):
    fcplus.clients[bac_fcplus.CLIENT_ID_DEFAUT].alterations = {"jwe_altere"}
    assert_refus(se_connecter(client, fcplus, "marcelle"), "jwe_invalide", "altéré")


def test_kid_de_signature_inconnu_refuse(client, fcplus):
    fcplus.clients[bac_fcplus.CLIENT_ID_DEFAUT].alterations = {"kid_inconnu"}
    assert_refus(se_connecter(client, fcplus, "marcelle"), "cle_inconnue", "clé inconnue de FranceConnect+")


def test_kid_de_chiffrement_inconnu_refuse(client, fcplus):
    fcplus.clients[bac_fcplus.CLIENT_ID_DEFAUT].alterations = {"kid_chiffrement_inconnu"}
    reponse = se_connecter(client, fcplus, "marcelle")
    assert_refus(reponse, "cle_chiffrement_inconnue", "clé que le portail ne connaît pas")


def test_refus_du_fournisseur_explique(client, fcplus):
    _, parametres = demarrer_connexion(client)
    reponse = client.get(
        "/comptes/fcplus/retour/",
        {"error": "access_denied", "error_description": "annulé par l'usager", "state": parametres["state"]},
    )
    assert_refus(reponse, "refus_fournisseur", "annulé par l&#x27;usager")


# --- Rotation des clés de chiffrement ------------------------------------------------------------


def test_rotation_deux_cles_publiees_jeton_pour_l_ancienne_dechiffre(client, fcplus, settings, cles):
    settings.FCPLUS_CLES_CHIFFREMENT = jwks_prive(cles[1], cles[0])  # nouvelle courante, ancienne gardée
    fcplus.clients[
        bac_fcplus.CLIENT_ID_DEFAUT
    ].kid_chiffrement = "cle-a"  # FC+ chiffre encore pour l'ancienne
    usager_demo("marcelle")
    assert se_connecter(client, fcplus, "marcelle").status_code == 302
    assert client.session[SESSION_NIVEAU] == "fcplus:eidas2"


def test_rotation_cle_retiree_refusee(client, fcplus, settings, cles, portail_http):
    settings.FCPLUS_CLES_CHIFFREMENT = jwks_prive(cles[1], cles[0])
    client_fc = fcplus.clients[bac_fcplus.CLIENT_ID_DEFAUT]
    client_fc.jwks_en_cache = requests.get(
        portail_http.adresse + "/comptes/fcplus/jwks.json", timeout=10
    ).json()
    client_fc.kid_chiffrement = "cle-a"
    settings.FCPLUS_CLES_CHIFFREMENT = jwks_prive(cles[1])  # l'ancienne est retirée
    reponse = se_connecter(client, fcplus, "marcelle")
    assert_refus(reponse, "cle_chiffrement_inconnue", "ne connaît pas (ou plus)")


def test_commande_de_rotation(tmp_path, settings, capsys):
    fichier = tmp_path / "cles.json"
    call_command("fcplus_cles", "--generer", "--fichier", str(fichier), "--ajouter")
    call_command("fcplus_cles", "--generer", "--fichier", str(fichier), "--ajouter")
    kids = [c.kid for c in cles_fcplus.lire(fichier.read_text())]
    assert len(kids) == 2
    call_command("fcplus_cles", "--fichier", str(fichier), "--courante", kids[1])
    call_command("fcplus_cles", "--fichier", str(fichier), "--retirer", kids[0])
    assert [c.kid for c in cles_fcplus.lire(fichier.read_text())] == [kids[1]]
    settings.FCPLUS_CLES_CHIFFREMENT, settings.FCPLUS_CLES_CHIFFREMENT_FICHIER = "", str(fichier)
    capsys.readouterr()
    call_command("fcplus_cles")
    assert f"{kids[1]}  (courante)" in capsys.readouterr().out


# --- Champs figés -------------------------------------------------------------------------------


def test_traits_venus_de_fcplus_figes_dans_le_service_et_le_formulaire(client, fcplus):
    usager = usager_demo("marcelle")
    se_connecter(client, fcplus, "marcelle")
    usager.refresh_from_db()
    acteur = acteur_systeme("test")
    with pytest.raises(ValidationError) as erreur:
        modifier_identite_usager(acteur=acteur, usager=usager, donnees={"nom_naissance": "AUTRE-FICTIF"})
    assert "vient de FranceConnect+" in str(erreur.value.message_dict["nom_naissance"])
    modifie = modifier_identite_usager(acteur=acteur, usager=usager, donnees={"telephone": "01 99 00 00 01"})
    assert modifie.telephone == "01 99 00 00 01"
    form = UsagerForm(instance=usager, acteur=acteur)
    assert all(form.fields[t].disabled for t in TRAITS_INS)
    assert not form.fields["telephone"].disabled


# --- Le fournisseur du bac à sable refuse ce que FC+ refuse --------------------------------------


def test_fournisseur_refuse_eidas1_mauvaise_adresse_mauvais_secret_et_code_rejoue(fcplus):
    navigateur = requests.Session()
    base = {
        "response_type": "code", "client_id": bac_fcplus.CLIENT_ID_DEFAUT, "scope": "openid given_name",
        "redirect_uri": "http://testserver/comptes/fcplus/retour/", "state": "s" * 32, "nonce": "n" * 32,
        "code_challenge": defi_pkce("v" * 64), "code_challenge_method": "S256",
    }  # fmt: skip
    eidas1 = navigateur.get(
        fcplus.adresse_autorisation, params={**base, "acr_values": "eidas1"}, allow_redirects=False
    )
    assert eidas1.status_code == 302 and "error=invalid_acr" in eidas1.headers["Location"]
    ailleurs = navigateur.get(
        fcplus.adresse_autorisation, params={**base, "redirect_uri": "https://pirate.example/retour"}
    )
    assert ailleurs.status_code == 400 and "non enregistrée" in ailleurs.text
    retour = choisir(fcplus, navigateur, {**base, "acr_values": "eidas2"}, "marcelle")
    code = dict(parse_qsl(urlsplit(retour).query))["code"]
    demande = {
        "grant_type": "authorization_code", "code": code, "redirect_uri": base["redirect_uri"],
        "code_verifier": "v" * 64, "client_id": bac_fcplus.CLIENT_ID_DEFAUT,
    }  # fmt: skip
    jeton = fcplus.adresse("token")
    faux = requests.post(jeton, data={**demande, "client_secret": "faux"}, timeout=10)
    assert faux.status_code == 401 and faux.json()["error"] == "invalid_client"
    # client_secret_basic n'est pas la méthode de FC+ (client_secret_post) : refusé aussi.
    basique = requests.post(
        jeton, data=demande, auth=(bac_fcplus.CLIENT_ID_DEFAUT, bac_fcplus.SECRET_DEFAUT), timeout=10
    )
    assert basique.json()["error"] == "invalid_client"
    bon = requests.post(jeton, data={**demande, "client_secret": bac_fcplus.SECRET_DEFAUT}, timeout=10)
    assert bon.status_code == 200 and bon.json()["id_token"].count(".") == 4  # JWE
    # Usage unique du code.
    rejoue = requests.post(jeton, data={**demande, "client_secret": bac_fcplus.SECRET_DEFAUT}, timeout=10)
    assert rejoue.json()["error"] == "invalid_grant"


def test_fournisseur_eidas3_par_defaut_et_le_plus_bas_de_plusieurs():
    assert bac_fcplus.niveau_demande(None) == "eidas3"
    assert bac_fcplus.niveau_demande("eidas3 eidas2") == "eidas2"
    assert bac_fcplus.niveau_demande("autre") == "eidas3"


# --- Déconnexion --------------------------------------------------------------------------------


def test_deconnexion_des_deux_cotes(client, fcplus):
    usager_demo("marcelle")
    navigateur = requests.Session()
    se_connecter(client, fcplus, "marcelle", navigateur)
    sessions_avant = set(fcplus.sessions)
    assert 'action="/comptes/fcplus/deconnexion/"' in client.get("/").content.decode()
    reponse = client.post("/comptes/fcplus/deconnexion/")
    assert reponse.status_code == 302
    fin = reponse["Location"]
    assert fin.startswith(fcplus.adresse("logout") + "?")
    p = dict(parse_qsl(urlsplit(fin).query))
    assert p["post_logout_redirect_uri"] == "http://testserver/comptes/login/"
    assert p["id_token_hint"].count(".") == 4  # le jeton d'identité tel que reçu (JWE)
    assert len(p["state"]) >= 32
    assert "_auth_user_id" not in client.session
    suite = navigateur.get(fin, allow_redirects=False)
    assert suite.status_code == 302
    assert suite.headers["Location"].startswith("http://testserver/comptes/login/?state=")
    assert len(sessions_avant - set(fcplus.sessions)) == 1
    assert Evenement.objects.filter(action="deconnexion.fcplus").count() == 1
    assert not Evenement.objects.filter(action="deconnexion").exists()  # pas de double journal
    assert not Evenement.objects.filter(action="connexion.reussie").exists()
