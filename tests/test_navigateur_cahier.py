"""Cahier de liaison dans Chromium : une note écrite dans un navigateur apparaît dans celui d'un
autre membre du cercle en moins de 2 secondes, sans recharger, et son compteur de non-lus se met à
jour ; un professionnel sans droit de lecture du cahier n'obtient rien. Captures en 360 px et
1280 px du fil, du formulaire d'écriture et du fil d'une note (tests/captures/, ignoré par git)."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.conftest import JournalConsole
from tests.monde_cahier import construire_monde_cahier, note_de
from tests.test_navigateur import CAPTURES, assert_console_propre, capturer
from tests.test_navigateur_cercle import ouvrir_session

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]

DELAI_MAX = 2.0


def onglet(navigateur, live_server, compte):
    contexte = navigateur.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page = contexte.new_page()
    page.set_default_timeout(10_000)
    page.journal_console = JournalConsole()
    page.on("console", page.journal_console.noter_message)
    page.on("pageerror", page.journal_console.noter_exception)
    ouvrir_session(page, live_server, compte)
    return page


def test_une_note_apparait_en_direct_chez_un_autre_membre(navigateur, live_server, settings):
    settings.CAHIER_TEMPS_REEL_BATTEMENT = 1.0
    settings.CAHIER_TEMPS_REEL_DUREE_MAX = 60.0
    monde = construire_monde_cahier()
    note_de(monde, "ide", texte="Pansement refait ce matin, plaie propre.")
    fil = live_server.url + reverse("cahier_liaison:fil", args=[monde.usager.uuid])
    auteur = onglet(navigateur, live_server, monde.acteurs["medecin"].compte)
    lecteur = onglet(navigateur, live_server, monde.acteurs["ide"].compte)
    sans_droit = onglet(navigateur, live_server, monde.acteurs["pro_sans_droit"].compte)
    try:
        lecteur.goto(fil)
        expect(lecteur.locator("#fil")).to_have_attribute("data-flux-ouvert", "oui")
        expect(lecteur.locator("#fil-non-lus")).to_contain_text("Aucune note non lue")

        refus = sans_droit.goto(fil)
        assert refus.status == 403
        assert sans_droit.request.get(fil + "flux/").status == 403
        assert "Pansement" not in sans_droit.content()

        auteur.goto(live_server.url + reverse("cahier_liaison:ecrire", args=[monde.usager.uuid]))
        auteur.get_by_label("Transmission ciblée (cible, données, actions, résultats)").check()
        auteur.get_by_label("Cible", exact=True).fill("Hydratation")
        auteur.get_by_label("Données", exact=True).fill("A bu 500 ml depuis ce matin.")
        auteur.get_by_label("Actions", exact=True).fill("Proposer de l'eau toutes les heures.")
        auteur.get_by_label("Urgent : à lire en priorité").check()
        capturer(auteur, "cahier-ecrire")
        debut = time.monotonic()
        auteur.get_by_role("button", name="Enregistrer la note").click()
        nouvelle = lecteur.locator("#fil-notes article.note", has_text="A bu 500 ml depuis ce matin.")
        nouvelle.wait_for(timeout=DELAI_MAX * 1000)
        delai = time.monotonic() - debut
        print(f"\nNote visible chez l'autre membre {delai:.3f} s après l'envoi du formulaire.")
        assert delai < DELAI_MAX
        expect(lecteur.locator("#fil-non-lus")).to_contain_text("1 note non lue", timeout=DELAI_MAX * 1000)
        assert "Nouvelle" in nouvelle.inner_text() and "Urgent" in nouvelle.inner_text()
        # La nouvelle note est en tête du fil.
        assert "A bu 500 ml" in lecteur.locator("#fil-notes article.note").first.inner_text()

        auteur.wait_for_url("**/notes/**")
        expect(auteur.get_by_role("heading", level=1)).to_contain_text("Note d'observation")
        capturer(auteur, "cahier-note")
        capturer(lecteur, "cahier-fil")
        # Rien n'a fui vers le professionnel sans droit (il n'a pas de flux).
        assert "A bu 500 ml" not in sans_droit.content()
        for page in (auteur, lecteur):
            assert_console_propre(page)
        assert (CAPTURES / "cahier-fil-360.png").exists()
    finally:
        for page in (auteur, lecteur, sans_droit):
            page.context.close()
