"""Export du cahier et pièces jointes dans Chromium : page d'export en 360 × 800 et 1280 × 800
(captures dans tests/captures/), pas de défilement horizontal, aucune violation de CSP ; période
fautive signalée (message relié au champ, annoncé) ; export JSON téléchargé au clavier seul ;
vignette d'une photo jointe affichée par la vue protégée."""

import json
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cahier_liaison import selectors
from cahier_liaison import services as cahier
from tests import fichiers_pieces as f
from tests.monde_cahier import construire_monde_cahier, note_de, qui, une_heure_avant
from tests.test_navigateur import assert_console_propre
from tests.test_navigateur_cercle import capturer, ouvrir_session

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def stockage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def test_export_au_clavier_et_captures(page, live_server):
    monde = construire_monde_cahier()
    note_de(monde, "ide", texte="Toux sèche ce matin, pas de fièvre.")
    ouvrir_session(page, live_server, monde.acteurs["medecin"].compte)
    page.goto(live_server.url + reverse("cahier_liaison:export", kwargs={"usager_uuid": monde.usager.uuid}))
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Exporter le cahier de liaison de Jeanne FICTIVE"
    )
    capturer(page, "cahier-export")
    # Période à l'envers : le message est dans la page, relié au champ.
    page.get_by_label("Du").fill("2026-03-10")
    page.get_by_label("Au (inclus)").fill("2026-03-01")
    page.get_by_role("button", name="Exporter").click()
    erreur = page.locator("#id_au_error")
    assert "après la date de début" in erreur.inner_text()
    assert page.get_by_role("alert").count() == 1
    capturer(page, "cahier-export-erreur")
    # Au clavier : dates, format JSON, puis Entrée sur le bouton.
    from django.utils import timezone

    aujourd_hui = timezone.localdate()
    page.get_by_label("Du").fill(aujourd_hui.replace(day=1).isoformat())
    page.get_by_label("Au (inclus)").fill(aujourd_hui.isoformat())
    page.get_by_label("JSON (données)").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Exporter").focus()
    with page.expect_download() as telechargement:
        page.keyboard.press("Enter")
    chemin = telechargement.value.path()
    donnees = json.loads(Path(chemin).read_text(encoding="utf-8"))
    assert donnees["notes"][0]["texte"] == "Toux sèche ce matin, pas de fièvre."
    assert telechargement.value.suggested_filename.endswith(".json")
    assert_console_propre(page)


def test_vignette_affichee_par_la_vue_protegee(page, live_server):
    """L'include des pièces jointes (templates/cahier_liaison/_pieces_jointes.html) rendu dans
    une page : la vignette se charge par la vue qui vérifie les droits, avec un texte de
    remplacement."""
    from django.template.loader import render_to_string

    monde = construire_monde_cahier()
    note = cahier.ecrire_note(
        acteur=qui(monde, "ide"), usager=monde.usager, type="OBS", survenue_le=une_heure_avant(),
        texte="Photo.", pieces_jointes=[f.fichier("talon.jpg", f.photo_jpeg(400, 300))],
    )  # fmt: skip
    note = selectors.note_visible(qui(monde, "medecin"), monde.usager, note.uuid)  # comme les vues
    fragment = render_to_string("cahier_liaison/_pieces_jointes.html", {"note": note, "usager": monde.usager})
    ouvrir_session(page, live_server, monde.acteurs["medecin"].compte)
    page.goto(live_server.url + "/")
    page.set_content(f"<base href='{live_server.url}/'>" + fragment)
    image = page.get_by_role("img", name="Photo jointe : talon.jpg")
    expect(image).to_have_js_property("naturalWidth", 320)
