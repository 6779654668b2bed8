"""Agenda dans Chromium : une réunion de coordination de bout en bout — l'infirmière la demande au
meilleur créneau, le médecin et la fille aidante acceptent, l'éducateur propose un autre créneau,
l'infirmière le retient, chacun confirme, et la réunion est dans l'agenda de chaque participant et
dans l'agenda consolidé de Jeanne. Captures en 360 px et 1280 px (tests/captures/)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from agenda.models import DemandeReunion, StatutDemande, StatutEvenement
from coordination.comptes.acteur import SESSION_ACTEUR
from tests.conftest import JournalConsole
from tests.factories import connecter
from tests.monde_agenda import construire_monde_agenda, rendez_vous
from tests.test_navigateur import assert_console_propre, capturer

pytestmark = [pytest.mark.navigateur, pytest.mark.django_db(transaction=True)]


def onglet(navigateur, live_server, acteur):
    """Un navigateur connecté comme cet acteur (qualité choisie : l'éducateur exerce à deux endroits)."""
    contexte = navigateur.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page = contexte.new_page()
    page.set_default_timeout(10_000)
    page.journal_console = JournalConsole()
    page.on("console", page.journal_console.noter_message)
    page.on("pageerror", page.journal_console.noter_exception)
    client = connecter(Client(), acteur.compte)
    session = client.session
    session[SESSION_ACTEUR] = acteur.cle
    session.save()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page


def jour_ouvre_suivant(jour: dt.date) -> dt.date:
    jour += dt.timedelta(days=1)
    while jour.weekday() >= 5:
        jour += dt.timedelta(days=1)
    return jour


def accepter(page, adresse: str) -> None:
    page.goto(adresse)
    page.get_by_role("button", name="J'accepte").click()
    expect(page.locator(".message--success")).to_contain_text("Votre réponse est enregistrée")


def test_une_reunion_de_coordination_de_bout_en_bout(navigateur, live_server):
    monde = construire_monde_agenda()
    jeanne = monde.usager
    demain = timezone.localdate() + dt.timedelta(days=1)
    rendez_vous(
        monde, "ide", titre="Toilette", debut=timezone.make_aware(dt.datetime.combine(demain, dt.time(8)))
    )
    ide, medecin, educateur, fille = (
        onglet(navigateur, live_server, monde.acteurs[nom])
        for nom in ("ide", "medecin", "educateur", "aidant_avec_droits")
    )
    try:
        # 1. L'infirmière demande la réunion.
        ide.goto(live_server.url + reverse("agenda:usager", args=[jeanne.uuid]))
        expect(ide.get_by_role("heading", level=1)).to_have_text("Agenda de Jeanne FICTIVE")
        capturer(ide, "agenda-usager-semaine")
        ide.get_by_role("link", name="Organiser une réunion de coordination").click()
        ide.get_by_label("Objet de la réunion").fill("Synthèse à domicile")
        for nom in (
            str(p.exercice.professionnel) for p in (monde.acteurs["medecin"], monde.acteurs["educateur"])
        ):
            ide.locator("#id_participants").get_by_label(re.compile(re.escape(nom))).check()
        ide.locator("#id_participants").get_by_label(re.compile("Sophie FICTIVE")).check()
        ide.get_by_role("button", name="Chercher les créneaux").click()
        expect(ide.get_by_role("heading", name="Créneaux où tout le monde est libre")).to_be_visible()
        capturer(ide, "agenda-reunion-creneaux")
        ide.get_by_role("button", name="Demander la réunion à ce créneau").click()
        ide.wait_for_url(re.compile(r".*/agenda/evenements/.*"))
        expect(ide.locator(".message--success")).to_contain_text("le créneau est retenu dans chaque agenda")
        demande = DemandeReunion.objects.select_related("evenement").get()
        evenement = demande.evenement
        assert evenement.statut == StatutEvenement.EN_ATTENTE
        adresse = live_server.url + reverse("agenda:evenement", args=[evenement.uuid])

        # 2. Le médecin la voit dans son agenda (à traiter) et accepte ; la fille accepte.
        medecin.goto(live_server.url + reverse("agenda:mon_agenda"))
        medecin.get_by_role("link", name="Synthèse à domicile").first.click()
        expect(medecin.get_by_role("heading", level=1)).to_have_text("Synthèse à domicile")
        capturer(medecin, "agenda-reunion-reponse")
        medecin.get_by_role("button", name="J'accepte").click()
        expect(medecin.locator(".message--success")).to_contain_text("Votre réponse est enregistrée")
        accepter(fille, adresse)

        # 3. L'éducateur propose un autre créneau.
        autre_jour = jour_ouvre_suivant(timezone.localtime(evenement.debut).date())
        educateur.goto(adresse)
        educateur.get_by_text("Proposer un autre créneau").click()
        educateur.get_by_label("Jour proposé").fill(autre_jour.isoformat())
        educateur.get_by_label("Heure proposée").fill("11:00")
        educateur.get_by_label("Commentaire").fill("Le matin je suis au foyer.")
        educateur.get_by_role("button", name="Proposer ce créneau").click()
        expect(educateur.locator(".message--success")).to_contain_text("Votre proposition est transmise")

        # 4. L'infirmière retient la proposition : la réunion est déplacée.
        ide.goto(adresse)
        expect(ide.get_by_text("propose le")).to_be_visible()
        ide.get_by_role("button", name="Retenir ce créneau").click()
        expect(ide.locator(".message--success")).to_contain_text("La réunion est déplacée")
        evenement.refresh_from_db()
        assert timezone.localtime(evenement.debut).date() == autre_jour
        assert timezone.localtime(evenement.debut).hour == 11

        # 5. Le médecin et la fille confirment le nouveau créneau : la réunion est confirmée.
        accepter(medecin, adresse)
        accepter(fille, adresse)
        demande.refresh_from_db()
        evenement.refresh_from_db()
        assert demande.statut == StatutDemande.RESERVEE and evenement.statut == StatutEvenement.RESERVE
        ide.goto(adresse)
        expect(ide.locator(".fiche")).to_contain_text("Confirmé")

        # 6. Elle est dans l'agenda de chaque participant et dans l'agenda consolidé de Jeanne.
        semaine = f"?vue=semaine&date={autre_jour.isoformat()}"
        for page in (ide, medecin, educateur):
            page.goto(live_server.url + reverse("agenda:mon_agenda") + semaine)
            expect(page.locator(".rdv", has_text="Synthèse à domicile")).to_have_count(1)
        capturer(educateur, "agenda-professionnel-semaine")
        fille.goto(live_server.url + reverse("agenda:usager", args=[jeanne.uuid]) + semaine)
        reunion = fille.locator(".rdv", has_text="Synthèse à domicile")
        expect(reunion).to_have_count(1)
        expect(reunion).to_contain_text("11:00")
        capturer(fille, "agenda-usager-aidante")
        fille.goto(
            live_server.url
            + reverse("agenda:usager", args=[jeanne.uuid])
            + semaine.replace("semaine", "mois")
        )
        capturer(fille, "agenda-usager-mois")
        for page in (ide, medecin, educateur, fille):
            assert_console_propre(page)
    finally:
        for page in (ide, medecin, educateur, fille):
            page.context.close()
