"""ICS : les fichiers réels de shared/samples/ics importés en temps occupés, l'export des séries
relu par une autre bibliothèque, le flux webcal privé (en-têtes, jeton tourné → 404, droits
revérifiés, « Occupé »), l'import d'un calendrier extérieur qui compte pour les réunions."""

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


# --- Fichiers réels -------------------------------------------------------------------------------


def test_tous_les_echantillons_se_lisent():
    fichiers = sorted(ECHANTILLONS.glob("*.ics"))
    assert len(fichiers) == 13
    for fichier in fichiers:
        ics.occupations(ics.lire_calendrier(fichier.read_bytes()), *TOUT)


def test_google_grand_calendrier_francais():
    occupations = occupations_de("issue_173_only_modifications_error.ics")
    assert len(occupations) > 1500
    assert all(o.intervalle.fin > o.intervalle.debut for o in occupations)


def test_semaine_dont_deux_seances_sont_retirees_par_exdate_en_utc():
    occupations = occupations_de("each_week_but_two_deleted.ics")
    assert len(occupations) == 6  # COUNT=8 moins deux EXDATE


def test_seances_deplacees_thunderbird():
    assert len(occupations_de("recurring_events_moved.ics")) == 7


def test_duree_modifiee_d_une_seance():
    durees = {o.intervalle.duree for o in occupations_de("duration_edited.ics")}
    assert len(durees) == 2  # la séance remplacée a sa propre durée


def test_exchange_byday_avec_espaces_et_fuseau_windows():
    occupations = occupations_de("issue_165_missing_event.ics")
    assert len(occupations) == 14  # jours ouvrés du 3 au 22 juillet 2015
    assert locales(occupations)[0] == "2015-07-03 10:00"


def test_fin_avant_debut_lue_a_l_endroit():
    [occupation] = occupations_de("issue_132_swapped_start_and_end.ics")
    assert occupation.intervalle.duree == dt.timedelta(minutes=15)


def test_journee_entiere_outlook_hors_du_bureau():
    occupations = occupations_de("issue_4_weidenrinde.ics")
    assert occupations and all(o.intervalle.duree >= dt.timedelta(hours=23) for o in occupations)


def test_evenements_transparents_ignores():
    assert occupations_de("issue_62_moved_event.ics") == []
    assert occupations_de("issue_28_rrule_with_UTC_endinginZ.ics") == []


def test_libre_occupe_davmail():
    occupations = occupations_de("issue_27_multiple_periods_in_freebusy_multiple_freebusies.ics")
    assert len(occupations) == 8 and occupations[0].uid == "freebusy"
    assert occupations[0].intervalle.debut == dt.datetime(2012, 1, 3, 9, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "contenu, message",
    [
        (b"%PDF-1.7 pas un calendrier", "n'est pas un calendrier"),
        (b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:pas une date", "illisible"),
        (b"BEGIN:VCALENDAR\n" + b"X" * 6_000_000, "trop gros"),
    ],
)
def test_fichier_refuse_en_francais(contenu, message):
    with pytest.raises(ics.ErreurIcs, match=message):
        ics.occupations(ics.lire_calendrier(contenu), *TOUT)


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
    corps = ics.ecrire_calendrier(evenements, nom="Agenda de Jeanne")
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
    assert len(relu) == 5


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
    assert b"SUMMARY:Occup" in contenu and b"Pansement" not in contenu and b"CLASS:CONFIDENTIAL" in contenu


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
