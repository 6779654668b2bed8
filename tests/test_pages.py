"""Cadre commun et pages de compte : chaque page s'affiche en français, avec ses repères, pour
chaque sorte de compte (anonyme, usager, aidant, professionnel à une ou deux situations
d'exercice, compte sans personne reliée) ; connexion réelle mot de passe + TOTP ; en-têtes de
sécurité ; nombre de requêtes constant sur l'accueil."""

import datetime
import json
import re
from html import unescape
from html.parser import HTMLParser

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.views import defaults

from coordination.comptes.acteur import SESSION_ACTEUR
from tests.factories import (
    MOT_DE_PASSE_TEST,
    SECRET_TOTP_TEST,
    ExerciceFactory,
    ProcheFactory,
    ProfessionnelFactory,
    StructureFactory,
    UsagerFactory,
    compte_connectable,
    connecter,
)

pytestmark = pytest.mark.django_db

ACCUEIL = "/"
CONNEXION = "/comptes/login/"


# --- Analyse du HTML rendu ------------------------------------------------------------------


class Analyse(HTMLParser):
    """Relève les repères, les champs et leurs libellés, les scripts et styles en ligne."""

    def __init__(self) -> None:
        super().__init__()
        self.balises: list[tuple[str, dict]] = []
        self.libelles_pour: set[str] = set()
        self.champs: list[dict] = []
        self.scripts_en_ligne = 0
        self.styles = 0
        self._dans_script = False
        self._script_a_src = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.balises.append((tag, a))
        if "style" in a:
            self.styles += 1
        if tag == "style":
            self.styles += 1
        if tag == "label" and a.get("for"):
            self.libelles_pour.add(a["for"])
        if tag in {"input", "select", "textarea"} and a.get("type") not in {"hidden", "submit", "button"}:
            self.champs.append(a)
        if tag == "script":
            self._dans_script = True
            # Un bloc JSON (<script type="application/json">, options des clés de sécurité) est une
            # donnée lue par un script du portail, pas du code : la CSP ne s'y applique pas.
            self._script_a_src = bool(a.get("src")) or a.get("type") == "application/json"

    def handle_endtag(self, tag):
        if tag == "script":
            self._dans_script = False

    def handle_data(self, data):
        if self._dans_script and not self._script_a_src and data.strip():
            self.scripts_en_ligne += 1

    def a(self, tag: str, **attrs) -> bool:
        return any(
            t == tag and all(v is True and k in at or at.get(k) == v for k, v in attrs.items())
            for t, at in self.balises
        )

    def compte(self, tag: str) -> int:
        return sum(1 for t, _ in self.balises if t == tag)


def analyser(reponse) -> Analyse:
    analyse = Analyse()
    analyse.feed(reponse.content.decode())
    return analyse


def verifier_cadre(reponse, *, navigation: bool = True) -> Analyse:
    """Le cadre commun : français, lien d'évitement vers le contenu, repères, pas de script ou
    de style en ligne (CSP), chaque champ avec un libellé."""
    page = analyser(reponse)
    assert page.a("html", lang="fr")
    assert page.a("a", href="#contenu", **{"class": "lien-evitement"})
    assert page.a("main", id="contenu")
    assert page.compte("header") == 1
    assert page.compte("footer") == 1
    assert page.compte("main") == 1
    assert page.compte("nav") == (1 if navigation else 0)
    assert page.a("meta", name="htmx-config")
    assert page.a("script", src="/static/vendor/htmx/htmx.min.js")
    assert page.a("link", rel="stylesheet", href="/static/css/portail.css")
    assert page.scripts_en_ligne == 0, "script en ligne interdit par la CSP"
    assert page.styles == 0, "style en ligne interdit par la CSP"
    for champ in page.champs:
        assert champ.get("id") in page.libelles_pour or champ.get("aria-label"), f"sans libellé : {champ}"
    return page


def contenu(reponse) -> str:
    """Le HTML rendu, entités décodées (« n'est » plutôt que « n'est »)."""
    return unescape(reponse.content.decode())


def code_totp(secret: str = SECRET_TOTP_TEST) -> str:
    return pyotp.TOTP(secret).now()


# --- Comptes ----------------------------------------------------------------------------------


@pytest.fixture
def usager():
    return UsagerFactory(nom_naissance="MARTIN", prenoms_naissance="Jeanne Louise")


@pytest.fixture
def compte_usager(usager):
    compte = compte_connectable(email="jeanne.martin@exemple.test")
    usager.compte = compte
    usager.save()
    return compte


@pytest.fixture
def compte_aidant(usager):
    compte = compte_connectable(email="sophie.martin@exemple.test")
    ProcheFactory(usager=usager, compte=compte, prenoms="Sophie", nom="MARTIN")
    return compte


@pytest.fixture
def ssiad():
    return StructureFactory(raison_sociale="SSIAD du Val")


@pytest.fixture
def compte_pro(ssiad):
    compte = compte_connectable(email="camille.durand@exemple.test")
    pro = ProfessionnelFactory(compte=compte, prenom_exercice="Camille", nom_exercice="DURAND")
    ExerciceFactory(professionnel=pro, structure=ssiad, fonction="Infirmière coordinatrice")
    return compte


@pytest.fixture
def compte_pro_deux(ssiad):
    compte = compte_connectable(email="alex.bernard@exemple.test")
    pro = ProfessionnelFactory(compte=compte, prenom_exercice="Alex", nom_exercice="BERNARD")
    ExerciceFactory(professionnel=pro, structure=ssiad, fonction="Ergothérapeute")
    ehpad = StructureFactory(raison_sociale="EHPAD Les Tilleuls")
    ExerciceFactory(professionnel=pro, structure=ehpad, fonction="Ergothérapeute")
    # Une situation terminée ne compte pas parmi les possibilités.
    ExerciceFactory(
        professionnel=pro,
        structure=StructureFactory(raison_sociale="SAAD Ancien"),
        date_fin=datetime.date(2021, 12, 31),
    )
    return compte


@pytest.fixture
def compte_sans_personne():
    return compte_connectable(email="technique@exemple.test")


def connecte(client: Client, compte) -> Client:
    return connecter(client, compte)


def premiere_cle(client: Client) -> str:
    """La clé de la première possibilité proposée sur la page de choix."""
    page = analyser(client.get("/qualite/"))
    return next(at["value"] for t, at in page.balises if t == "input" and at.get("name") == "cle")


# --- Anonyme ----------------------------------------------------------------------------------


@pytest.mark.parametrize("chemin", [ACCUEIL, "/qualite/", "/comptes/2fa/"])
def test_anonyme_renvoye_vers_la_connexion(client, chemin):
    reponse = client.get(chemin)
    assert reponse.status_code == 302
    assert reponse.url.startswith(CONNEXION)
    assert f"next={chemin}" in reponse.url.replace("%2F", "/")


def test_page_de_connexion(client):
    reponse = client.get(CONNEXION)
    assert reponse.status_code == 200
    page = verifier_cadre(reponse, navigation=False)
    html = contenu(reponse)
    assert "<h1>Connexion</h1>" in html
    # Pro Santé Connect et FranceConnect+ ouverts (bacs à sable par défaut).
    for bouton in (
        "Se connecter avec Pro Santé Connect",
        "S'identifier avec <strong>FranceConnect+</strong>",
    ):
        assert bouton in html
    assert page.a("a", href=reverse("psc_connexion"))
    assert page.a("a", href=reverse("fcplus_connexion"))
    assert "disabled" not in html
    assert "professionnels" in html and "aidants" in html
    # Compte local sur invitation, sans lien d'inscription.
    assert "Compte local (sur invitation)" in html
    assert reverse("account_signup") not in html
    assert page.a("input", name="login", type="email", autocomplete="email")
    assert page.a("input", name="password", type="password", autocomplete="current-password")
    assert page.a("a", href=reverse("account_reset_password"))
    # Pas d'en-tête « vous agissez en tant que » ni de bouton de déconnexion pour un anonyme.
    assert "Vous agissez en tant que" not in html
    assert "Se déconnecter" not in html


def test_connexion_echouee_message_en_francais(client, compte_pro):
    reponse = client.post(CONNEXION, {"login": compte_pro.email, "password": "pas-le-bon-mot-de-passe"})
    assert reponse.status_code == 200
    html = contenu(reponse)
    assert "mot de passe sont incorrects" in html
    assert 'role="alert"' in html


def test_inscription_fermee(client):
    reponse = client.get(reverse("account_signup"))
    assert reponse.status_code == 200
    verifier_cadre(reponse, navigation=False)
    assert "Pas d'inscription libre" in contenu(reponse)


def test_mot_de_passe_oublie(client):
    reponse = client.get(reverse("account_reset_password"))
    assert reponse.status_code == 200
    verifier_cadre(reponse, navigation=False)
    assert "Mot de passe oublié" in contenu(reponse)
    reponse = client.post(reverse("account_reset_password"), {"email": "inconnu@exemple.test"})
    assert reponse.status_code == 302
    reponse = client.get(reponse.url)
    assert "Courriel envoyé" in contenu(reponse)


def test_mot_de_passe_oublie_parcours_complet(client, compte_pro, mailoutbox):
    client.post(reverse("account_reset_password"), {"email": compte_pro.email})
    assert len(mailoutbox) == 1
    lien = re.search(r"https?://[^/\s]+(/comptes/password/reset/key/\S+)", mailoutbox[0].body).group(1)
    reponse = client.get(lien)
    assert reponse.status_code == 302  # allauth retire la clé de l'adresse avant d'afficher le formulaire
    reponse = client.get(reponse.url)
    assert reponse.status_code == 200
    verifier_cadre(reponse, navigation=False)
    assert "Choisir un nouveau mot de passe" in contenu(reponse)
    reponse = client.post(reponse.request["PATH_INFO"], {"password1": "court", "password2": "court"})
    assert reponse.status_code == 200
    html = contenu(reponse)
    assert "au minimum 12 caractères" in html
    assert 'aria-describedby="id_password1_helptext id_password1_error"' in html
    nouveau = "une phrase de passe tranquille"
    reponse = client.post(reponse.request["PATH_INFO"], {"password1": nouveau, "password2": nouveau})
    assert reponse.status_code == 302
    assert "Mot de passe changé" in contenu(client.get(reponse.url))
    compte_pro.refresh_from_db()
    assert compte_pro.check_password(nouveau)
    assert "Lien expiré ou déjà utilisé" in contenu(client.get(lien, follow=True))


# --- Sonde de santé ---------------------------------------------------------------------------


def test_sante_publique_avec_ping_base(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        reponse = client.get("/sante/")
    assert reponse.status_code == 200
    assert json.loads(reponse.content) == {"statut": "ok"}
    assert "no-cache" in reponse["Cache-Control"]
    assert client.post("/sante/").status_code == 405


def test_sante_libre_meme_pour_un_compte_sans_mfa(client):
    connecte(client, compte_connectable(email="sans-mfa@exemple.test", totp=False))
    assert client.get("/sante/").status_code == 200


# --- Connexion réelle : mot de passe puis code TOTP --------------------------------------------


def test_connexion_complete_professionnel_une_situation(client, compte_pro):
    reponse = client.post(CONNEXION, {"login": compte_pro.email, "password": MOT_DE_PASSE_TEST})
    assert reponse.status_code == 302
    assert reponse.url == reverse("mfa_authenticate")

    reponse = client.get(reponse.url)
    assert reponse.status_code == 200
    page = verifier_cadre(reponse, navigation=False)
    assert "Code de vérification" in contenu(reponse)
    assert page.a("input", id="id_code", inputmode="numeric", autocomplete="one-time-code")
    assert "_auth_user_id" not in client.session  # pas encore connecté

    reponse = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert reponse.status_code == 200
    assert "Code incorrect" in contenu(reponse)

    reponse = client.post(reverse("mfa_authenticate"), {"code": code_totp()})
    assert reponse.status_code == 302
    assert reponse.url == ACCUEIL

    reponse = client.get(ACCUEIL)
    assert reponse.status_code == 200
    verifier_cadre(reponse)
    html = contenu(reponse)
    assert "<h1>Mes usagers</h1>" in html
    assert "Vous agissez en tant que" in html
    assert "Camille DURAND" in html
    assert "Infirmière coordinatrice · SSIAD du Val" in html
    # Une seule possibilité : prise d'office, pas de lien « Changer ».
    assert client.session[SESSION_ACTEUR].startswith("exercice:")
    assert reverse("choisir_acteur") not in html
    # État vide honnête, sans donnée inventée.
    assert "Aucune personne accompagnée pour l'instant" in html
    assert "cercle de santé et d'accompagnement" in html


def test_code_de_secours_accepte_a_la_connexion(client, compte_pro):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    codes = RecoveryCodes.activate(compte_pro).get_unused_codes()
    client.post(CONNEXION, {"login": compte_pro.email, "password": MOT_DE_PASSE_TEST})
    html = contenu(client.get(reverse("mfa_authenticate")))
    assert "code de secours" in html
    assert 'id="id_code_secours"' in html
    reponse = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert reponse.status_code == 302
    assert reponse.url == ACCUEIL


def test_deconnexion_par_formulaire_post(client, compte_pro):
    connecte(client, compte_pro)
    html = contenu(client.get(ACCUEIL))
    assert f'<form method="post" action="{reverse("account_logout")}">' in html
    reponse = client.post(reverse("account_logout"))
    assert reponse.status_code == 302
    assert "_auth_user_id" not in client.session
    assert "Vous êtes déconnecté du portail" in contenu(client.get(reponse.url))
    assert client.get(ACCUEIL).status_code == 302


# --- Compte local sans TOTP : activation obligatoire ------------------------------------------


def test_compte_sans_totp_force_vers_activation(client):
    compte = compte_connectable(email="nouvelle@exemple.test", totp=False)
    ProcheFactory(compte=compte)
    reponse = client.post(CONNEXION, {"login": compte.email, "password": MOT_DE_PASSE_TEST})
    assert reponse.status_code == 302
    assert reponse.url == ACCUEIL

    activation = reverse("mfa_activate_totp")
    for chemin in (ACCUEIL, "/qualite/"):
        reponse = client.get(chemin)
        assert reponse.status_code == 302
        assert reponse.url == activation

    reponse = client.get(activation)
    assert reponse.status_code == 200
    page = verifier_cadre(reponse, navigation=False)
    html = contenu(reponse)
    assert "Protéger votre compte" in html
    assert page.a("img", alt="Code QR à scanner avec l'application d'authentification")
    assert 'src="data:image/svg+xml;base64,' in html
    secret = client.session[SECRET_SESSION_KEY]
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in html  # clé lisible
    assert "application d'authentification" in html
    assert page.a("input", id="id_code", inputmode="numeric", autocomplete="one-time-code")
    assert "Vous agissez en tant que" not in html  # étape obligatoire : pas encore de bandeau

    reponse = client.post(activation, {"code": "123456" if code_totp(secret) != "123456" else "654321"})
    assert reponse.status_code == 200
    assert "Code incorrect" in contenu(reponse)
    assert not Authenticator.objects.filter(user=compte).exists()

    reponse = client.post(activation, {"code": code_totp(secret)})
    assert reponse.status_code == 302
    assert reponse.url == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=compte, type=Authenticator.Type.TOTP).exists()

    reponse = client.get(reponse.url)
    assert reponse.status_code == 200
    verifier_cadre(reponse)
    html = contenu(reponse)
    assert "Vos codes de secours" in html
    assert html.count('class="codes-secours__code"') == settings.MFA_RECOVERY_CODE_COUNT
    assert "10 codes sur 10 encore utilisables" in " ".join(html.split())

    reponse = client.get(ACCUEIL)
    assert reponse.status_code == 200
    assert "L'accompagnement de" in contenu(reponse)


def test_page_mon_compte(client, compte_pro):
    connecte(client, compte_pro)
    reponse = client.get(reverse("mfa_index"))
    assert reponse.status_code == 200
    verifier_cadre(reponse)
    html = contenu(reponse)
    assert "<h1>Mon compte</h1>" in html
    assert "Code à 6 chiffres (application d'authentification)" in html
    assert "Active" in html
    assert reverse("mfa_deactivate_totp") not in html  # la MFA ne se désactive pas
    assert f'href="{reverse("account_change_password")}"' in html


def test_mfa_ne_se_desactive_pas(client, compte_pro):
    connecte(client, compte_pro)
    reponse = client.get(reverse("mfa_deactivate_totp"))
    assert reponse.status_code == 302  # action sensible : mot de passe redemandé
    assert reponse.url.startswith(reverse("account_reauthenticate"))
    reponse = client.post(reverse("account_reauthenticate"), {"password": MOT_DE_PASSE_TEST})
    assert reponse.status_code == 302
    reponse = client.get(reverse("mfa_deactivate_totp"))
    assert reponse.status_code == 200
    assert "La double authentification reste active" in contenu(reponse)
    client.post(reverse("mfa_deactivate_totp"))
    assert Authenticator.objects.filter(user=compte_pro, type=Authenticator.Type.TOTP).exists()


@pytest.mark.parametrize(
    ("nom", "attendu"),
    [
        ("account_change_password", "Mot de passe actuel"),
        ("account_reauthenticate", "Confirmer votre identité"),
        ("mfa_reauthenticate", "Confirmer votre identité"),
    ],
)
def test_autres_pages_de_compte_dans_le_cadre(client, compte_pro, nom, attendu):
    """Les pages d'allauth non réécrites prennent le cadre et restent en français."""
    connecte(client, compte_pro)
    reponse = client.get(reverse(nom))
    assert reponse.status_code == 200
    verifier_cadre(reponse, navigation=nom == "account_change_password")
    assert attendu in contenu(reponse)


# --- Professionnel à deux situations d'exercice : choix de la qualité ------------------------------


def test_deux_situations_renvoie_vers_le_choix_puis_choisit(client, compte_pro_deux):
    reponse = client.post(CONNEXION, {"login": compte_pro_deux.email, "password": MOT_DE_PASSE_TEST})
    reponse = client.post(reverse("mfa_authenticate"), {"code": code_totp()})
    assert reponse.url == ACCUEIL

    reponse = client.get(ACCUEIL)
    assert reponse.status_code == 302
    assert reponse.url == "/qualite/?suivant=%2F"

    reponse = client.get(reponse.url)
    assert reponse.status_code == 200
    page = verifier_cadre(reponse, navigation=False)
    html = contenu(reponse)
    assert "En quelle qualité agissez-vous" in html
    assert "Professionnel · Ergothérapeute · SSIAD du Val" in html
    assert "Professionnel · Ergothérapeute · EHPAD Les Tilleuls" in html
    assert "SAAD Ancien" not in html  # situation terminée
    radios = [at for t, at in page.balises if t == "input" and at.get("type") == "radio"]
    assert len(radios) == 2
    assert page.a("input", type="hidden", name="suivant", value="/")
    assert "Vous agissez en tant que" not in html  # rien n'est encore choisi

    cle_ehpad = next(r["value"] for r in radios if r["id"] == "qualite-1")
    reponse = client.post("/qualite/", {"cle": cle_ehpad, "suivant": "/"})
    assert reponse.status_code == 302
    assert reponse.url == ACCUEIL
    assert client.session[SESSION_ACTEUR] == cle_ehpad

    reponse = client.get(ACCUEIL)
    assert reponse.status_code == 200
    html = contenu(reponse)
    assert "Ergothérapeute · EHPAD Les Tilleuls" in html
    assert "Ergothérapeute · SSIAD du Val" not in html
    assert "Vous agissez maintenant en tant que Alex BERNARD" in html  # message de confirmation
    assert 'role="status"' in html
    assert f'href="{reverse("choisir_acteur")}?suivant=%2F"' in html  # lien « Changer »
    assert "Changer" in html

    # Le choix actuel est marqué sur la page de choix.
    html = contenu(client.get("/qualite/"))
    assert "Choix actuel" in html


def test_choix_refuse_une_cle_d_un_autre_compte(client, compte_pro_deux, compte_pro):
    connecte(client, compte_pro_deux)
    cle_autre = "exercice:" + str(compte_pro.professionnel.exercices.get().uuid)
    reponse = client.post("/qualite/", {"cle": cle_autre})
    assert reponse.status_code == 400
    html = contenu(reponse)
    assert "n'est pas (ou plus) ouverte à votre compte" in html
    assert 'role="alert"' in html
    assert SESSION_ACTEUR not in client.session
    reponse = client.post("/qualite/", {})
    assert reponse.status_code == 400
    assert "choisissez l'une des possibilités" in contenu(reponse)


@pytest.mark.parametrize(
    ("suivant", "attendu"),
    [
        ("/comptes/2fa/", "/comptes/2fa/"),
        ("https://malveillant.example/", "/"),
        ("//malveillant.example/", "/"),
        ("/qualite/", "/"),
        ("", "/"),
    ],
)
def test_choix_suivant_sur(client, compte_pro_deux, suivant, attendu):
    connecte(client, compte_pro_deux)
    reponse = client.post("/qualite/", {"cle": premiere_cle(client), "suivant": suivant})
    assert reponse.status_code == 302
    assert reponse.url == attendu


# --- Usager, aidant, compte sans personne -------------------------------------------------------


def test_accueil_usager(client, compte_usager):
    reponse = connecte(client, compte_usager).get(ACCUEIL)
    assert reponse.status_code == 200
    verifier_cadre(reponse)
    html = contenu(reponse)
    assert "<h1>Mon accompagnement</h1>" in html
    assert "Jeanne MARTIN" in html
    assert "— Usager" in html
    for section in ("Agenda", "Cahier de liaison", "Projet personnalisé"):
        assert f">{section}</h2>" in html
    assert "Aucun rendez-vous à afficher pour l'instant" in html


def test_accueil_aidant(client, compte_aidant):
    reponse = connecte(client, compte_aidant).get(ACCUEIL)
    assert reponse.status_code == 200
    verifier_cadre(reponse)
    html = contenu(reponse)
    assert "<h1>L'accompagnement de Jeanne MARTIN</h1>" in html
    assert "Sophie MARTIN" in html
    assert "Aidant de Jeanne MARTIN" in html
    assert "Les visites et rendez-vous de Jeanne MARTIN apparaîtront ici" in html


def test_accueil_compte_sans_personne(client, compte_sans_personne):
    reponse = connecte(client, compte_sans_personne).get(ACCUEIL)
    assert reponse.status_code == 200
    verifier_cadre(reponse)
    html = contenu(reponse)
    assert "n'est relié à aucune personne" in html
    assert "Vous agissez en tant que" not in html
    assert reverse("admin:index") not in html


def test_accueil_compte_sans_personne_administrateur(client):
    compte = compte_connectable(email="admin@exemple.test", is_staff=True)
    html = contenu(connecte(client, compte).get(ACCUEIL))
    assert f'href="{reverse("admin:index")}"' in html


def test_choix_sans_possibilite(client, compte_sans_personne):
    reponse = connecte(client, compte_sans_personne).get("/qualite/")
    assert reponse.status_code == 200
    assert "il n'y a rien à choisir" in contenu(reponse)


# --- Pages d'erreur ----------------------------------------------------------------------------


def test_page_404(client, compte_aidant):
    reponse = client.get("/cette-page-n-existe-pas/")
    assert reponse.status_code == 404
    verifier_cadre(reponse, navigation=False)
    assert "Page introuvable" in contenu(reponse)
    reponse = connecte(client, compte_aidant).get("/cette-page-n-existe-pas/")
    assert reponse.status_code == 404
    verifier_cadre(reponse)  # le cadre complet, avec la navigation
    assert "Sophie MARTIN" in contenu(reponse)


def test_page_403(rf, compte_aidant):
    requete = rf.get("/interdit/")
    requete.user = compte_aidant
    requete.session = {}
    reponse = defaults.permission_denied(requete, PermissionDenied())
    assert reponse.status_code == 403
    html = contenu(reponse)
    assert "Accès refusé" in html
    assert 'lang="fr"' in html


def test_page_500_sans_contexte(rf):
    reponse = defaults.server_error(rf.get("/"))
    assert reponse.status_code == 500
    html = contenu(reponse)
    assert "Le portail a rencontré une erreur" in html
    assert 'lang="fr"' in html
    assert 'href="#contenu"' in html


def test_page_403_csrf(compte_pro):
    client = Client(enforce_csrf_checks=True)
    reponse = client.post(CONNEXION, {"login": compte_pro.email, "password": MOT_DE_PASSE_TEST})
    assert reponse.status_code == 403
    assert "Formulaire expiré" in contenu(reponse)


# --- Sécurité, ressources locales, nombre de requêtes ---------------------------------------------


def test_en_tetes_de_securite_sur_l_accueil(client, compte_pro):
    reponse = connecte(client, compte_pro).get(ACCUEIL)
    assert reponse.status_code == 200
    csp = reponse["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert reponse["X-Frame-Options"] == "DENY"
    assert reponse["Referrer-Policy"] == "same-origin"
    assert reponse["X-Content-Type-Options"] == "nosniff"
    cookie = reponse.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    # Jeton CSRF transmis aux requêtes htmx par l'attribut hx-headers (le cookie est HttpOnly).
    assert 'hx-headers=\'{"X-CSRFToken": "' in contenu(reponse)


def test_ressources_locales_presentes():
    htmx = finders.find("vendor/htmx/htmx.min.js")
    assert htmx
    with open(htmx, encoding="utf-8") as fichier:
        assert fichier.read(200).startswith("var htmx=function()")
    assert finders.find("vendor/htmx/LICENSE")
    assert finders.find("css/portail.css")
    assert finders.find("img/favicon.svg")


@pytest.mark.parametrize(
    ("fixture", "maximum"),
    [
        # Professionnel : l'accueil est « Mes usagers » (nombre total et page ; voir test_cercle_pages).
        ("compte_pro", 8),
        ("compte_pro_deux", 8),
        # Proche : + sa présence dans le cercle (lien « Quitter le cercle » s'il en est membre).
        # Usager et proche : + le cahier de liaison (droit de lecture, puis non-lus s'il le lit).
        ("compte_aidant", 7),
        ("compte_usager", 6),
        # Sans personne reliée, rien n'est gardé en session : les 3 requêtes de
        # acteurs_possibles() sont refaites à chaque page (voir coordination/comptes/acteur.py).
        ("compte_sans_personne", 7),
    ],
)
def test_accueil_requetes_constantes(client, request, fixture, maximum, django_assert_max_num_queries):
    compte = request.getfixturevalue(fixture)
    connecte(client, compte)
    if fixture == "compte_pro_deux":
        client.post("/qualite/", {"cle": premiere_cle(client)})
    client.get(ACCUEIL)  # MFA déjà vérifiée pour la session : on mesure une page courante
    # Compte (1) + acteur de la session (1) + enregistrement de la session, glissante
    # (SAVEPOINT, UPDATE, RELEASE : 3 dans la transaction du test). Le lien « Changer » et
    # l'accueil ne coûtent aucune requête de plus.
    with django_assert_max_num_queries(maximum):
        reponse = client.get(ACCUEIL)
    assert reponse.status_code == 200


def test_session_ouverte_sans_code_refusee_meme_si_le_totp_est_active_ailleurs(client):
    """Mot de passe seul avant l'activation du TOTP, puis activation dans une autre session :
    la première session ne devient pas valable pour autant."""
    compte = compte_connectable(email="tardif@exemple.test", totp=False)
    client.post(CONNEXION, {"login": compte.email, "password": MOT_DE_PASSE_TEST})
    assert client.get(ACCUEIL).url == reverse("mfa_activate_totp")
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(compte, SECRET_TOTP_TEST)  # activé depuis un autre appareil
    reponse = client.get(ACCUEIL)
    assert reponse.status_code == 302
    assert reponse.url.startswith(CONNEXION)
    assert "_auth_user_id" not in client.session
