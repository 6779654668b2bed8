"""Page « Chercher dans mes cahiers de liaison » dans Chromium : au clavier seul (saisie, Entrée,
résultats mis à jour par htmx dans une zone annoncée), mots surlignés, pas de défilement
horizontal en 360 px, aucune erreur de console ni violation de CSP ; captures en 360 et 1280 px."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.monde_cahier import SANTE, construire_monde_cahier, note_de
from tests.test_navigateur import CAPTURES, assert_console_propre
from tests.test_navigateur_cercle import BUREAU, MOBILE, ouvrir_session

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]


def test_recherche_au_clavier_sur_telephone(page, live_server):
    monde = construire_monde_cahier()
    note_de(monde, texte="Fièvre à 38,5 °C ce soir, paracétamol donné.", urgente=True)
    note_de(monde, visibilite=SANTE, texte="Chute dans la salle de bain, pas de fièvre.")
    note_de(monde, texte="Repas pris en entier.")
    ouvrir_session(page, live_server, monde.acteurs["medecin"].compte)
    page.set_viewport_size(MOBILE)
    page.goto(live_server.url + reverse("cahier_liaison:recherche"))
    assert page.get_by_role("heading", level=1).inner_text() == "Chercher dans mes cahiers de liaison"

    champ = page.get_by_label("Rechercher")
    champ.focus()
    page.keyboard.type("fievre")
    page.keyboard.press("Enter")
    resultats = page.locator("#resultats-recherche")
    expect(resultats.get_by_role("status")).to_contain_text("2 notes pour « fievre »")
    expect(resultats.locator("mark")).to_have_count(2)
    assert "Repas" not in resultats.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    CAPTURES.mkdir(exist_ok=True)
    page.screenshot(path=CAPTURES / "cahier-recherche-360.png", full_page=True)
    page.set_viewport_size(BUREAU)
    page.screenshot(path=CAPTURES / "cahier-recherche-1280.png", full_page=True)
    assert_console_propre(page)
