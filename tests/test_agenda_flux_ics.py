"""Flux ICS du portail : l'export des séries relu par une autre bibliothèque, le flux webcal privé
(en-têtes, jeton tourné → 404, droits revérifiés, « Occupé »), l'import d'un calendrier extérieur
qui compte pour les réunions. (Lecture des fichiers réels : test_agenda_ics.py.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import recurring_ical_events
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from icalendar import Calendar

from agenda import ics, reunions, selectors
from agenda import services as agenda
from agenda.models import FluxIcs, OccupationExterne
from cercle import services as cercle
from tests.factories import connecter
from tests.monde_agenda import PARIS, a_paris, construire_monde_agenda, qui, rendez_vous

ECHANTILLONS = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "ics"
TOUT = (dt.datetime(1990, 1, 1, tzinfo=dt.UTC), dt.datetime(2035, 1, 1, tzinfo=dt.UTC))


def occupations_de(nom: str, debut=TOUT[0], fin=TOUT[1]):
    return ics.occupations(ics.lire_calendrier((ECHANTILLONS / nom).read_bytes()), debut, fin)


def locales(occupations) -> list[str]:
    return [o.intervalle.debut.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") for o in occupations]


# --- Export et flux ---------------------------------------------------------------------------------


@pytest.fixture
def monde(db):
    return construire_monde_agenda()


def test_export_relu_par_une_autre_bibliotheque(monde):
    serie = rendez_vous(
        monde,
        "ide",
        debut=a_paris(2026, 3, 16, 10),
        rrule="FREQ=WEEKLY;COUNT=4",
        lieux=[{"adresse": "1 rue Fictive"}],
    )
    agenda.modifier_occurrence(
        acteur=qui(monde, "ide"),
        serie=serie,
        recurrence_id=a_paris(2026, 3, 23, 10),
        debut=a_paris(2026, 3, 24, 15),
    )
    rendez_vous(
        monde, "ide", titre="Bilan", debut=a_paris(2026, 4, 1), duree_min=24 * 60, journee_entiere=True
    )
    evenements = selectors.evenements_de_l_usager_sur(monde.usager, a_paris(2026, 3, 1), a_paris(2026, 5, 1))
    corps = ics.ecrire_calendrier(ics.evenements_ics(evenements), nom="Agenda de Jeanne")
    calendrier = Calendar.from_ical(corps)
    assert calendrier.walk("VTIMEZONE")[0]["TZID"] == "Europe/Paris"
    occurrences = recurring_ical_events.of(calendrier).between(
        dt.datetime(2026, 3, 1), dt.datetime(2026, 5, 1)
    )
    heures = sorted(str(o.decoded("dtstart")) for o in occurrences)
    assert heures == [
        "2026-03-16 10:00:00+01:00", "2026-03-24 15:00:00+01:00", "2026-03-30 10:00:00+02:00",
        "2026-04-01", "2026-04-06 10:00:00+02:00",
    ]  # fmt: skip
    assert all(o["UID"].endswith("@portail-coordination") for o in occurrences)
    relu = ics.occupations(ics.lire_calendrier(corps), *TOUT)
    assert len(relu) == 5 and relu[1].debut == a_paris(2026, 3, 24, 15)


def _flux(client, jeton: str):
    return client.get(reverse("agenda:flux_ics", args=[jeton]))


def test_flux_du_professionnel_en_tetes_et_jeton_tourne(client, monde):
    medecin = qui(monde, "medecin")
    rendez_vous(monde, "ide", titre="Pansement", invites=[agenda.Invite(medecin.exercice)])
    flux = agenda.flux_ics(acteur=medecin)
    reponse = _flux(client, flux.jeton)
    assert reponse.status_code == 200
    assert reponse["Content-Type"] == "text/calendar; charset=utf-8"
    assert reponse["Cache-Control"] == "no-store, private" and reponse["Referrer-Policy"] == "no-referrer"
    assert b"SUMMARY:Pansement" in reponse.content
    ancien = flux.jeton
    nouveau = agenda.flux_ics(acteur=medecin, tourner=True).jeton
    assert _flux(client, ancien).status_code == 404
    assert _flux(client, nouveau).status_code == 200
    assert _flux(client, "jeton-invente").status_code == 404


def test_flux_masque_les_rendez_vous_d_un_usager_qui_a_retire_l_acces(client, monde):
    medecin = qui(monde, "medecin")
    rendez_vous(monde, "ide", titre="Pansement", invites=[agenda.Invite(medecin.exercice)])
    flux = agenda.flux_ics(acteur=medecin)
    cercle.retirer_membre(acteur=qui(monde, "usager"), membre=monde.membres["medecin"])
    contenu = _flux(client, flux.jeton).content
    assert "SUMMARY:Occupé".encode() in contenu and b"Pansement" not in contenu


def test_flux_de_l_usager_pour_l_aidant_suit_ses_droits(client, monde):
    rendez_vous(monde, "ide", titre="Kiné")
    flux = agenda.flux_ics(acteur=qui(monde, "aidant_avec_droits"), usager=monde.usager)
    assert b"SUMMARY:Kin" in _flux(client, flux.jeton).content
    droit = monde.membres["aidant"].habilitations.get(domaine="agenda", revoquee_le__isnull=True)
    cercle.revoquer(acteur=qui(monde, "usager"), droit=droit)
    assert _flux(client, flux.jeton).status_code == 404
    assert FluxIcs.objects.filter(pk=flux.pk).exists()


def test_page_d_abonnement_et_rotation(client, monde):
    connecter(client, monde.acteurs["ide"].compte)
    page = client.get(reverse("agenda:abonnement"))
    assert page.status_code == 200 and "webcal://" in page.content.decode()
    jeton = FluxIcs.objects.get().jeton
    client.post(reverse("agenda:abonnement"), {"quoi": "tourner"})
    assert FluxIcs.objects.get().jeton != jeton


def test_import_d_un_calendrier_exterieur_compte_pour_les_reunions(client, monde):
    ide = qui(monde, "ide")
    lundi = dt.date.today() + dt.timedelta(days=14 - dt.date.today().weekday())
    agenda_ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//FR\r\nBEGIN:VEVENT\r\nUID:perso-1\r\n"
        f"DTSTART;TZID=Europe/Paris:{lundi:%Y%m%d}T090000\r\nDTEND;TZID=Europe/Paris:{lundi:%Y%m%d}T120000\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=2\r\nSUMMARY:Rendez-vous personnel\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    connecter(client, monde.acteurs["ide"].compte)
    reponse = client.post(
        reverse("agenda:abonnement"),
        {"quoi": "importer", "calendrier": SimpleUploadedFile("perso.ics", agenda_ics.encode())},
    )
    assert reponse.status_code == 302
    assert OccupationExterne.objects.filter(professionnel=ide.exercice.professionnel).count() == 2
    assert not OccupationExterne.objects.filter(uid__icontains="personnel").exists()
    matin = a_paris(lundi.year, lundi.month, lundi.day)
    resultat = reunions.proposer_creneaux(
        acteur=ide, usager=monde.usager, invites=[agenda.Invite(qui(monde, "medecin").exercice)],
        duree=dt.timedelta(hours=1), debut=matin, fin=matin + dt.timedelta(days=1),
    )  # fmt: skip
    pris = (matin + dt.timedelta(hours=9), matin + dt.timedelta(hours=12))
    assert resultat.complet and resultat.creneaux
    assert all(c.fin <= pris[0] or c.debut >= pris[1] for c in resultat.creneaux)
    mauvais = client.post(
        reverse("agenda:abonnement"),
        {"quoi": "importer", "calendrier": SimpleUploadedFile("x.ics", b"pas un calendrier")},
    )
    assert mauvais.status_code == 400 and "pas un calendrier" in mauvais.content.decode()
    assert OccupationExterne.objects.count() == 2  # rien perdu
