"""Pages des notifications dans Chromium : pas de défilement horizontal en 360 px (le tableau des
préférences s'empile), chaque liste déroulante a un nom accessible, aucune erreur de console ;
un choix enregistré, le bouton activé au clavier."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from coordination.notifications.models import Notification, Preference, Source
from tests.factories import connecter
from tests.monde_cercle import construire_monde
from tests.test_navigateur import assert_console_propre

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]

MOBILE = {"width": 360, "height": 800}


def ouvrir_session(page, live_server, compte) -> None:
    client = connecter(Client(), compte)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.mark.parametrize(
    "route", ["notifications:liste", "notifications:preferences"], ids=["liste", "preferences"]
)
def test_360_px_sans_defilement_horizontal(page, live_server, route):
    monde = construire_monde()
    moi = monde.acteurs["ide"].compte
    for _ in range(3):
        Notification.objects.create(
            compte=moi, nature="cahier.nouvelle_note", titre="Nouvelle transmission", lien="/",
            source=Source.SIGNAL, source_uuid=uuid.uuid4(),
        )  # fmt: skip
    ouvrir_session(page, live_server, moi)
    page.set_viewport_size(MOBILE)
    page.goto(live_server.url + reverse(route))
    largeur = page.evaluate("document.documentElement.scrollWidth")
    assert largeur <= MOBILE["width"], f"défilement horizontal : {largeur} px"
    sans_nom = page.evaluate(
        "[...document.querySelectorAll('select')].filter(s => !(s.labels && s.labels.length)).length"
    )
    assert sans_nom == 0
    assert_console_propre(page)


def test_choisir_au_clavier(page, live_server):
    monde = construire_monde()
    moi = monde.acteurs["usager"].compte
    ouvrir_session(page, live_server, moi)
    page.goto(live_server.url + reverse("notifications:preferences"))
    liste = page.get_by_label("Transmission urgente · Courriel")
    liste.focus()
    liste.select_option("quotidienne")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Enregistrer mes préférences").press("Enter")
    expect(page.get_by_text("Vos préférences de notification sont enregistrées.")).to_be_visible()
    assert Preference.objects.get(compte=moi, nature="cahier.note_urgente", canal="courriel").frequence == (
        "quotidienne"
    )
