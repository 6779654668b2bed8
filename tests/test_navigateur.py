"""Parcours réels dans Chromium : connexion mot de passe + code TOTP, activation du TOTP,
choix de la qualité ; affichage à 360 px sans défilement horizontal ; clavier (lien
d'évitement) ; aucune violation de CSP ni erreur JavaScript. Les captures d'écran vont dans
tests/captures/ (ignoré par git) pour relecture."""

import re
from pathlib import Path

import pyotp
import pytest

from tests.factories import (
    MOT_DE_PASSE_TEST,
    SECRET_TOTP_TEST,
    ExerciceFactory,
    ProcheFactory,
    ProfessionnelFactory,
    StructureFactory,
    UsagerFactory,
    compte_connectable,
)

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]

CAPTURES = Path(__file__).parent / "captures"
MOBILE = {"width": 360, "height": 740}
BUREAU = {"width": 1280, "height": 800}


def capturer(page, nom: str) -> None:
    """Capture pleine page en 360 px puis en 1280 px ; vérifie au passage l'absence de
    défilement horizontal en 360 px."""
    CAPTURES.mkdir(exist_ok=True)
    page.set_viewport_size(MOBILE)
    assert_sans_defilement_horizontal(page)
    page.screenshot(path=CAPTURES / f"{nom}-360.png", full_page=True)
    page.set_viewport_size(BUREAU)
    page.screenshot(path=CAPTURES / f"{nom}-1280.png", full_page=True)


def assert_sans_defilement_horizontal(page) -> None:
    largeur = page.evaluate("document.documentElement.scrollWidth")
    visible = page.evaluate("document.documentElement.clientWidth")
    assert largeur <= visible, f"défilement horizontal sur {page.url} : {largeur} px pour {visible} px"


def assert_console_propre(page) -> None:
    journal = page.journal_console
    assert journal.violations_csp == [], journal.violations_csp
    assert journal.erreurs == [], journal.erreurs


def se_connecter(page, live_server, email: str) -> None:
    page.goto(live_server.url + "/")
    assert page.url.startswith(live_server.url + "/comptes/login/")
    page.get_by_label("Courriel").fill(email)
    page.get_by_label("Mot de passe").fill(MOT_DE_PASSE_TEST)
    page.get_by_role("button", name="Se connecter", exact=True).click()


def saisir_code(page, secret: str = SECRET_TOTP_TEST) -> None:
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Valider", exact=True).click()


@pytest.fixture
def usager():
    return UsagerFactory(nom_naissance="MARTIN", prenoms_naissance="Jeanne Louise")


@pytest.fixture
def compte_pro():
    compte = compte_connectable(email="camille.durand@exemple.test")
    pro = ProfessionnelFactory(compte=compte, prenom_exercice="Camille", nom_exercice="DURAND")
    structure = StructureFactory(raison_sociale="SSIAD du Val")
    ExerciceFactory(professionnel=pro, structure=structure, fonction="Infirmière coordinatrice")
    return compte


def test_connexion_complete_puis_accueil_professionnel(page, live_server, compte_pro):
    page.goto(live_server.url + "/")
    assert page.url == live_server.url + "/comptes/login/?next=/"
    assert page.locator("html").get_attribute("lang") == "fr"
    # Pro Santé Connect et FranceConnect+ sont ouverts (bacs à sable par défaut).
    assert page.get_by_role("link", name="Se connecter avec Pro Santé Connect").is_visible()
    assert page.get_by_role("link", name="S'identifier avec FranceConnect+").is_visible()
    capturer(page, "connexion")

    # Clavier : la première tabulation atteint le lien d'évitement, qui mène au contenu.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "lien-evitement"
    boite = page.locator(".lien-evitement").bounding_box()
    assert boite is not None and boite["y"] >= 0 and boite["height"] >= 44  # visible au focus
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
    # Puis les liens Pro Santé Connect et FranceConnect+ et le formulaire, dans l'ordre, avec un contour
    # de focus bien visible.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Se connecter avec Pro Santé Connect"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "bouton-fcplus"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineWidth") == "3px"
    page.keyboard.press("Tab")
    texte = page.evaluate("document.activeElement.textContent.trim()")
    assert texte.startswith("Qu'est-ce que FranceConnect+")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_login"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Se connecter"
    contour = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor]; })()"
    )
    assert contour == ["solid", 3, "rgb(194, 65, 12)"]

    se_connecter(page, live_server, compte_pro.email)
    page.wait_for_url(re.compile(r".*/comptes/2fa/authenticate/$"))
    champ = page.get_by_label("Code à 6 chiffres")
    assert champ.get_attribute("inputmode") == "numeric"
    assert champ.get_attribute("autocomplete") == "one-time-code"
    capturer(page, "code-de-verification")

    saisir_code(page)
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Mes usagers"
    bandeau = page.locator(".bandeau-acteur").inner_text()
    assert "Camille DURAND" in bandeau
    assert "Infirmière coordinatrice · SSIAD du Val" in bandeau
    # htmx chargé depuis nos fichiers, configuré par la balise meta (pas de style injecté).
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    capturer(page, "accueil-professionnel")

    # En 360 px la navigation reste utilisable : lien visible, assez grand, dans l'écran.
    page.set_viewport_size(MOBILE)
    navigation = page.get_by_role("navigation", name="Navigation principale")
    lien = navigation.get_by_role("link", name="Mes usagers")  # l'accueil d'un professionnel
    assert lien.is_visible()
    assert lien.get_attribute("aria-current") == "page"
    boite = lien.bounding_box()
    assert boite["height"] >= 44
    assert boite["x"] >= 0 and boite["x"] + boite["width"] <= MOBILE["width"]
    deconnexion = page.get_by_role("button", name="Se déconnecter")
    assert deconnexion.bounding_box()["height"] >= 44
    lien.click()
    page.wait_for_url(live_server.url + "/")

    # Pages de compte : la nôtre, puis une page d'allauth non réécrite (éléments stylés).
    page.get_by_role("link", name="Mon compte").click()
    page.wait_for_url(re.compile(r".*/comptes/2fa/$"))
    capturer(page, "mon-compte")
    page.get_by_role("link", name="Changer de mot de passe").click()
    page.wait_for_url(re.compile(r".*/comptes/password/change/$"))
    capturer(page, "changer-mot-de-passe")

    page.set_viewport_size(MOBILE)
    deconnexion = page.get_by_role("button", name="Se déconnecter")
    deconnexion.click()
    page.wait_for_url(re.compile(r".*/comptes/login/$"))
    assert_console_propre(page)


def test_activation_du_totp_puis_accueil_aidant(page, live_server, usager):
    compte = compte_connectable(email="sophie.martin@exemple.test", totp=False)
    ProcheFactory(usager=usager, compte=compte, prenoms="Sophie", nom="MARTIN")

    se_connecter(page, live_server, compte.email)
    page.wait_for_url(re.compile(r".*/comptes/2fa/totp/activate/$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Protéger votre compte")
    qr = page.get_by_role("img", name="Code QR à scanner avec l'application d'authentification")
    assert qr.is_visible()
    assert page.evaluate("document.querySelector('.qr__image').naturalWidth") > 0  # data: autorisé par la CSP
    capturer(page, "activation-totp")

    secret = page.locator(".cle-secrete__valeur").inner_text().replace(" ", "")
    assert len(secret) == 32
    page.get_by_label("Code à 6 chiffres affiché par l'application").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activer la protection").click()
    page.wait_for_url(re.compile(r".*/comptes/2fa/recovery-codes/$"))
    assert page.locator(".codes-secours__code").count() == 10
    capturer(page, "codes-de-secours")

    page.get_by_role("link", name="J'ai noté mes codes, continuer").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "L'accompagnement de Jeanne MARTIN"
    assert "Aidant de Jeanne MARTIN" in page.locator(".bandeau-acteur").inner_text()
    capturer(page, "accueil-aidant")
    assert_console_propre(page)


def test_choix_de_la_qualite(page, live_server):
    compte = compte_connectable(email="alex.bernard@exemple.test")
    pro = ProfessionnelFactory(compte=compte, prenom_exercice="Alex", nom_exercice="BERNARD")
    ExerciceFactory(professionnel=pro, structure=StructureFactory(raison_sociale="SSIAD du Val"))
    ExerciceFactory(professionnel=pro, structure=StructureFactory(raison_sociale="EHPAD Les Tilleuls"))

    se_connecter(page, live_server, compte.email)
    page.wait_for_url(re.compile(r".*/comptes/2fa/authenticate/$"))
    saisir_code(page)
    page.wait_for_url(re.compile(r".*/qualite/\?suivant=%2F$"))
    options = page.get_by_role("radio")
    assert options.count() == 2
    capturer(page, "choix-qualite")

    # Le libellé entier est cliquable (grande cible) et se choisit aussi au clavier.
    page.set_viewport_size(MOBILE)
    etiquette = page.locator("label", has_text="EHPAD Les Tilleuls")
    assert etiquette.bounding_box()["height"] >= 44
    etiquette.click()
    assert page.get_by_role("radio", name=re.compile("EHPAD Les Tilleuls")).is_checked()
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url(live_server.url + "/")
    assert "EHPAD Les Tilleuls" in page.locator(".bandeau-acteur").inner_text()
    assert page.get_by_role("status").first.inner_text().startswith("Vous agissez maintenant en tant que")
    assert_sans_defilement_horizontal(page)

    page.get_by_role("link", name="Changer de qualité").click()
    page.wait_for_url(re.compile(r".*/qualite/\?suivant=%2F$"))
    assert page.get_by_role("radio", name=re.compile("EHPAD Les Tilleuls")).is_checked()
    assert_console_propre(page)


def test_pages_d_erreur_et_sante(page, live_server):
    reponse = page.goto(live_server.url + "/page-inexistante/")
    assert reponse.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page introuvable"
    page.set_viewport_size(MOBILE)
    assert_sans_defilement_horizontal(page)
    reponse = page.goto(live_server.url + "/sante/")
    assert reponse.status == 200
    assert reponse.json() == {"statut": "ok"}
    # Le 404 ci-dessus est la seule erreur de console attendue (« Failed to load resource »).
    assert page.journal_console.violations_csp == []
    assert all("404" in e for e in page.journal_console.erreurs)


def test_swagger_ui_sous_la_csp_du_portail(page, live_server, compte_pro):
    """Swagger UI (fichiers locaux de drf-spectacular-sidecar) s'affiche sous la CSP stricte du
    portail (script-src et style-src 'self') : script d'initialisation servi à part, pas de style
    en ligne dans le gabarit."""
    se_connecter(page, live_server, compte_pro.email)
    saisir_code(page)
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/api/schema/swagger/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "API du portail de coordination" in page.locator(".swagger-ui .info .title").inner_text()
    CAPTURES.mkdir(exist_ok=True)
    page.screenshot(path=CAPTURES / "swagger-1280.png")
    assert_console_propre(page)
