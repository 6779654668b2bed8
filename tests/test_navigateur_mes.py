"""Partage de l'agenda avec Mon espace santé dans Chromium : la personne coche son accord, relie son
espace (appariement du pair FHIR du bac à sable), voit le partage en cours et peut le retirer ;
au clavier, sans défilement horizontal en 360 px, console propre. Captures 360 et 1280 px."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from agenda.models import AppairageMES
from tests.monde_agenda import construire_monde_agenda
from tests.pair_fhir import pair_fhir, pair_fhir_neuf  # noqa: F401
from tests.test_agenda_mes_pages import qualifier
from tests.test_navigateur import assert_console_propre, capturer
from tests.test_navigateur_cercle import ouvrir_session

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]


def test_la_personne_relie_puis_retire_son_espace(page, live_server, pair_fhir_neuf):  # noqa: F811
    monde = construire_monde_agenda()
    qualifier(monde.usager)
    ouvrir_session(page, live_server, monde.acteurs["usager"].compte)
    page.goto(live_server.url + reverse("agenda:mon_espace_sante", args=[monde.usager.uuid]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Partage de l'agenda avec Mon espace santé")
    capturer(page, "mes-accord")
    case = page.get_by_role("checkbox")
    case.focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Donner l'accord et relier Mon espace santé").press("Enter")
    expect(page.get_by_text("Partage en cours")).to_be_visible()
    capturer(page, "mes-partage-en-cours")
    assert AppairageMES.objects.get().retire_le is None
    page.get_by_role("button", name="Retirer l'accord").click()
    expect(page.get_by_text("Accord retiré", exact=False).first).to_be_visible()
    assert AppairageMES.objects.get().retire_le is not None
    assert_console_propre(page)
