"""Pages du cercle dans Chromium : captures en 360 × 800 et 1280 × 800 (tests/captures/, ignoré par
git) de « Mes usagers », du cercle vu par un professionnel, de « Mon cercle », de l'étape de
confirmation d'un droit et de « Qui a consulté » ; pas de défilement horizontal en 360 px ; aucune
violation de CSP ; un droit accordé de bout en bout au clavier seul."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from cercle.models import Habilitation
from tests.factories import connecter
from tests.test_cercle_pages import _usagers_de_la_structure, construire_scene
from tests.test_navigateur import CAPTURES, assert_console_propre

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]

MOBILE = {"width": 360, "height": 800}
BUREAU = {"width": 1280, "height": 800}


def capturer(page, nom: str) -> None:
    CAPTURES.mkdir(exist_ok=True)
    page.set_viewport_size(MOBILE)
    largeur = page.evaluate("document.documentElement.scrollWidth")
    assert largeur <= MOBILE["width"], f"défilement horizontal sur {page.url} : {largeur} px"
    page.screenshot(path=CAPTURES / f"cercle-{nom}-360.png", full_page=True)
    page.set_viewport_size(BUREAU)
    page.screenshot(path=CAPTURES / f"cercle-{nom}-1280.png", full_page=True)


def ouvrir_session(page, live_server, compte) -> None:
    """Session déjà passée par la MFA (comme après mot de passe + code), posée dans le navigateur."""
    client = connecter(Client(), compte)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


@pytest.fixture
def scene():
    return construire_scene()


def test_captures_des_pages_du_cercle(page, live_server, scene):
    jeanne = scene.usager
    _usagers_de_la_structure(scene, 4)
    ouvrir_session(page, live_server, scene.monde.acteurs["ide"].compte)
    page.goto(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Mes usagers"
    capturer(page, "mes-usagers")
    # Recherche par htmx : la liste se met à jour sans recharger la page.
    page.get_by_label("Rechercher une personne par son nom").fill("fictive")
    expect(page.locator(".carte--usager")).to_have_count(1)
    assert "Jeanne FICTIVE" in page.locator("#liste-usagers").inner_text()
    page.get_by_role("link", name="Jeanne FICTIVE", exact=True).click()
    page.wait_for_url(re.compile(r".*/cercle/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Le cercle de Jeanne FICTIVE"
    capturer(page, "vu-par-un-professionnel")
    assert_console_propre(page)

    page.context.clear_cookies()
    ouvrir_session(page, live_server, scene.monde.acteurs["usager"].compte)
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Voir mon cercle").click()
    page.wait_for_url(live_server.url + reverse("cercle:cercle", args=[jeanne.uuid]))
    assert page.get_by_role("heading", level=1).inner_text() == "Mon cercle"
    # « Pourquoi ? » se déplie et charge l'explication (htmx).
    carte = page.locator(f"#membre-{scene.monde.membres['ide'].uuid}")
    carte.locator("summary").click()
    carte.locator(".explications").wait_for()
    assert "équipe de soins" in carte.locator(".explications").inner_text()
    capturer(page, "mon-cercle")

    fils = scene.monde.membres["fils"]
    page.goto(live_server.url + reverse("cercle:droit_accorder", args=[jeanne.uuid, fils.uuid]))
    capturer(page, "droit-choisir")
    page.get_by_label("Sur quoi").select_option("agenda")
    page.get_by_label("Consulter et compléter").check()
    page.get_by_role("button", name="Continuer : relire le texte").click()
    page.wait_for_selector(".texte-accord")
    assert page.locator(".texte-accord").inner_text().startswith("J'autorise Marc FICTIVE")
    capturer(page, "droit-confirmer")

    page.goto(live_server.url + reverse("cercle:acces", args=[jeanne.uuid]) + "?periode=tout")
    assert page.get_by_role("heading", level=1).inner_text() == "Qui a consulté mon dossier"
    capturer(page, "qui-a-consulte")

    page.goto(live_server.url + reverse("cercle:consentement", args=[jeanne.uuid, scene.consentement.uuid]))
    capturer(page, "preuve")
    assert_console_propre(page)


def test_accorder_un_droit_au_clavier_seul(page, live_server, scene):
    jeanne = scene.usager
    fils = scene.monde.membres["fils"]
    ouvrir_session(page, live_server, scene.monde.acteurs["usager"].compte)
    page.goto(live_server.url + reverse("cercle:cercle", args=[jeanne.uuid]))

    def tabuler_jusqu_a(texte: str, limite: int = 200) -> None:
        for _ in range(limite):
            page.keyboard.press("Tab")
            actif = page.evaluate("document.activeElement.textContent.replace(/\\s+/g, ' ').trim()")
            if actif.startswith(texte):
                contour = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                assert contour == "solid", f"focus invisible sur « {texte} »"
                return
        pytest.fail(f"« {texte} » jamais atteint au clavier")

    tabuler_jusqu_a("Donner un droit à Marc FICTIVE")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/droits/$"))
    page.keyboard.press("Tab")
    while page.evaluate("document.activeElement.id") != "id_domaine":
        page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # cercle → cahier de liaison
    assert page.evaluate("document.activeElement.value") == "cahier"
    page.keyboard.press("Tab")  # premier choix du niveau
    page.keyboard.press("Space")
    assert page.evaluate("document.activeElement.checked") is True
    tabuler_jusqu_a("Continuer : relire le texte")
    page.keyboard.press("Enter")
    page.wait_for_selector(".texte-accord")
    texte = page.locator(".texte-accord").inner_text()
    assert texte.startswith("J'autorise Marc FICTIVE (famille) à consulter mon cahier de liaison")
    assert not Habilitation.objects.filter(membre=fils, domaine="cahier", revoquee_le__isnull=True).exists()
    tabuler_jusqu_a("Je confirme")
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + reverse("cercle:cercle", args=[jeanne.uuid]))
    assert "peut maintenant consulter" in page.get_by_role("status").first.inner_text()
    droit = Habilitation.objects.get(membre=fils, domaine="cahier", revoquee_le__isnull=True)
    assert droit.niveau == 1 and droit.consentement.texte == texte
    assert_console_propre(page)


def test_captures_quitter_deleguer_importer(page, live_server, scene, tmp_path):
    """Les pages ajoutées : import d'un historique (compte rendu avec une ligne fautive), fin de
    délégation, « Mes délégations », quitter le cercle ; chacune en 360 et 1280 px, puis un départ
    du cercle au clavier seul."""
    from cercle.models import Membre, MotifSortie, StatutMembre
    from tests.factories import ProfessionnelFactory

    jeanne = scene.usager
    dentiste = ProfessionnelFactory(nom_exercice="DENTISTE", profession_code="40")
    fichier = tmp_path / "historique.csv"
    fichier.write_text(f"rpps;date\n{dentiste.rpps};2026-02-03\n123;2026-02-04\n", encoding="utf-8")
    ouvrir_session(page, live_server, scene.monde.acteurs["usager"].compte)
    page.goto(live_server.url + reverse("cercle:cercle", args=[jeanne.uuid]))
    page.get_by_role("link", name="Importer un historique de remboursement").click()
    capturer(page, "historique")
    page.get_by_label("Fichier de l'historique de remboursement").set_input_files(str(fichier))
    page.get_by_role("button", name="Importer le fichier").click()
    page.get_by_role("heading", name="Compte rendu de l'import").wait_for()
    assert "Ligne 3" in page.locator(".rapport__erreurs").inner_text()
    capturer(page, "historique-rapport")
    page.goto(
        live_server.url
        + reverse("cercle:delegation_terminer", args=[jeanne.uuid, scene.delegation_active.uuid])
    )
    capturer(page, "delegation-terminer")
    assert_console_propre(page)

    page.context.clear_cookies()
    ouvrir_session(page, live_server, scene.monde.acteurs["medecin"].compte)
    page.goto(live_server.url + reverse("cercle:mes_delegations"))
    assert page.get_by_role("heading", level=1).inner_text() == "Mes délégations"
    capturer(page, "mes-delegations")

    page.context.clear_cookies()
    ouvrir_session(page, live_server, scene.monde.acteurs["pro_sans_droit"].compte)
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Quitter le cercle de Jeanne FICTIVE").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/quitter/$"))
    capturer(page, "quitter")
    bouton = page.get_by_role("button", name="Oui, quitter le cercle")
    bouton.focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + reverse("cercle:mes_usagers"))
    assert "Vous avez quitté le cercle" in page.get_by_role("status").first.inner_text()
    kine = Membre.objects.get(pk=scene.monde.membres["kine"].pk)
    assert (kine.statut, kine.motif_sortie) == (StatutMembre.INACTIF, MotifSortie.DEPART_MEMBRE)
    capturer(page, "apres-depart")
    assert_console_propre(page)
