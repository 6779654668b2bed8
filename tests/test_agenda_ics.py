"""Fichiers iCalendar de l'agenda (agenda/ics.py, ADR 0023) : chaque échantillon public de
shared/samples/ics/ (SOURCES.md) est lu avec des attentes précises ; aller-retour écriture/lecture ;
refus en français des fichiers illisibles."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agenda.ics import (
    CalendrierIcs,
    ErreurIcs,
    EvenementIcs,
    ecrire_calendrier,
    lire_calendrier,
    occupations,
    serie_de,
)
from agenda.intervalles import Intervalle
from agenda.recurrence import deplier, ecart

DONNEES = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "ics"
PARIS = ZoneInfo("Europe/Paris")
BERLIN = ZoneInfo("Europe/Berlin")
LONDRES = ZoneInfo("Europe/London")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def lire(nom: str) -> CalendrierIcs:
    return lire_calendrier((DONNEES / nom).read_bytes())


def toutes_occurrences(calendrier, debut, fin):
    """Occurrences de toutes les séries (maîtres + remplacements), par UID."""
    resultat = {}
    for maitre in calendrier.evenements:
        if maitre.recurrence_id is None:
            propres = [e for e in calendrier.evenements if e.uid == maitre.uid and e.recurrence_id]
            resultat[maitre.uid] = deplier(serie_de(maitre, propres), debut, fin)
    return resultat


def locaux(occurrences, zone):
    return [o.debut.astimezone(zone).replace(tzinfo=None) for o in occurrences]


def test_tous_les_echantillons_se_lisent():
    fichiers = sorted(DONNEES.glob("*.ics"))
    assert len(fichiers) == 13
    for fichier in fichiers:
        calendrier = lire_calendrier(fichier.read_bytes())
        assert calendrier.evenements or calendrier.libres_occupes, fichier.name
        for evenement in calendrier.evenements:
            assert evenement.debut.tzinfo is not None and evenement.fin >= evenement.debut


def test_duree_modifiee_par_un_remplacement():
    calendrier = lire("duration_edited.ics")
    occ = toutes_occurrences(calendrier, datetime(2019, 3, 1, tzinfo=UTC), datetime(2019, 4, 1, tzinfo=UTC))
    (serie,) = occ.values()
    assert locaux(serie, BERLIN) == [datetime(2019, 3, d, 4) for d in (18, 19, 20)]
    assert [ecart(o.debut, o.fin) for o in serie] == [
        timedelta(hours=1),
        timedelta(hours=3),
        timedelta(hours=1),
    ]
    assert serie[1].cle.startswith("5d4c6843")


def test_exdates_en_utc_sur_une_serie_de_berlin():
    calendrier = lire("each_week_but_two_deleted.ics")
    (evenement,) = calendrier.evenements
    assert evenement.fuseau == "Europe/Berlin" and evenement.rrule == "FREQ=WEEKLY;COUNT=8"
    debuts = locaux(
        occupations(calendrier, datetime(2019, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC)), BERLIN
    )
    assert len(debuts) == 6
    assert datetime(2019, 3, 11, 0, 30) not in debuts and datetime(2019, 3, 25, 0, 30) not in debuts
    assert debuts[0] == datetime(2019, 3, 4, 0, 30) and debuts[-1] == datetime(2019, 4, 22, 0, 30)


def test_occurrences_deplacees():
    calendrier = lire("recurring_events_moved.ics")
    assert len(calendrier.evenements) == 5
    occ = toutes_occurrences(calendrier, datetime(2019, 3, 1, tzinfo=UTC), datetime(2019, 4, 1, tzinfo=UTC))
    assert locaux(occ["a0c78729-30b1-4ba3-a86e-6aedd995d788"], BERLIN) == [
        datetime(2019, 3, 7, 2),
        datetime(2019, 3, 8, 1),
        datetime(2019, 3, 9, 3),
        datetime(2019, 3, 10, 2),
    ]
    assert locaux(occ["5d4c6843-9300-4f91-8d88-6094d4b0b840"], BERLIN) == [
        datetime(2019, 3, d, 4) for d in (18, 19, 20)
    ]


def test_fin_avant_debut_echangees_avec_avertissement():
    calendrier = lire("issue_132_swapped_start_and_end.ics")
    (evenement,) = calendrier.evenements
    assert (evenement.debut, evenement.fin) == (
        datetime(2023, 12, 18, 23, 30, tzinfo=PARIS),
        datetime(2023, 12, 18, 23, 45, tzinfo=PARIS),
    )
    assert evenement.participants == (("mailto:xxx@yyy.zzz", "XXX", "NEEDS-ACTION"),)
    assert any("échangés" in a for a in calendrier.avertissements)
    assert any("VTODO" in a for a in calendrier.avertissements)


def test_x_wr_timezone_exdate_et_remplacement_annuel():
    calendrier = lire("issue_151_macos_linux_difference.ics")
    assert {e.fuseau for e in calendrier.evenements} == {"America/Los_Angeles"}
    occ = occupations(calendrier, datetime(2014, 1, 1, tzinfo=UTC), datetime(2018, 1, 1, tzinfo=UTC))
    assert locaux(occ, LOS_ANGELES) == [
        datetime(2014, 8, 1, 18, 30),
        datetime(2015, 8, 1, 19),
        datetime(2017, 8, 1, 19),
    ]


def test_tzid_exchange_propre_au_fichier_et_byday_avec_espaces():
    calendrier = lire("issue_165_missing_event.ics")
    (evenement,) = calendrier.evenements
    assert evenement.rrule.startswith("FREQ=DAILY;UNTIL=20150722T080000Z")
    assert evenement.debut == datetime(2015, 7, 3, 10, tzinfo=PARIS)
    assert any("inconnu" in a for a in calendrier.avertissements)
    occ = occupations(calendrier, datetime(2015, 7, 1, tzinfo=UTC), datetime(2015, 8, 1, tzinfo=UTC))
    assert len(occ) == 14  # jours ouvrés du 3 au 22 juillet inclus
    assert all(o.debut.astimezone(PARIS).weekday() < 5 for o in occ)


def test_gros_calendrier_google_francais():
    calendrier = lire("issue_173_only_modifications_error.ics")
    evenements = calendrier.evenements
    assert len(evenements) == 677
    assert sum(1 for e in evenements if e.rrule) == 81
    assert sum(1 for e in evenements if e.recurrence_id) == 186
    assert {e.fuseau for e in evenements} == {"Europe/Paris"}
    maitre = next(
        e for e in evenements if e.uid == "4v7fuk6men5n884tkthb0hgjgu@google.com" and not e.recurrence_id
    )
    occ = deplier(serie_de(maitre), datetime(2024, 1, 1, tzinfo=PARIS), datetime(2024, 2, 1, tzinfo=PARIS))
    assert locaux(occ, PARIS) == [datetime(2024, 1, 10, 14), datetime(2024, 1, 17, 14)]
    annee = occupations(calendrier, datetime(2024, 1, 1, tzinfo=PARIS), datetime(2025, 1, 1, tzinfo=PARIS))
    assert annee and all(a.fin < b.debut for a, b in zip(annee, annee[1:], strict=False))
    assert (
        occupations(calendrier, datetime(2020, 1, 1, tzinfo=PARIS), datetime(2021, 1, 1, tzinfo=PARIS)) == []
    )


def test_thunderbird_londres_avec_remplacements():
    calendrier = lire("issue_223_thunderbird.ics")
    occ = occupations(calendrier, datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC))
    assert locaux(occ, LONDRES) == [
        datetime(2025, 4, d, h) for d, h in ((23, 9), (24, 11), (25, 9), (26, 9), (27, 9))
    ]


def test_libre_occupe():
    calendrier = lire("issue_27_multiple_periods_in_freebusy_multiple_freebusies.ics")
    assert calendrier.evenements == ()
    assert len(calendrier.libres_occupes) == 8
    assert calendrier.libres_occupes[0] == Intervalle(
        datetime(2012, 1, 3, 9, 15, tzinfo=UTC), datetime(2012, 1, 3, 10, 15, tzinfo=UTC)
    )
    fenetre = occupations(calendrier, datetime(2012, 1, 13, tzinfo=UTC), datetime(2012, 1, 17, tzinfo=UTC))
    assert [o.debut.astimezone(UTC).day for o in fenetre] == [13, 16]


def test_exchange_journees_entieres_transparentes_et_tzid_windows():
    calendrier = lire("issue_28_rrule_with_UTC_endinginZ.ics")
    assert len(calendrier.evenements) == 5
    assert all(e.journee_entiere and e.transparent for e in calendrier.evenements)
    remplacements = [e for e in calendrier.evenements if e.recurrence_id]
    assert remplacements[0].recurrence_id == datetime(2020, 4, 16, tzinfo=LONDRES)
    assert occupations(calendrier, datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)) == []
    occ = toutes_occurrences(
        calendrier, datetime(2020, 4, 1, tzinfo=PARIS), datetime(2020, 5, 1, tzinfo=PARIS)
    )
    # Série du jeudi tous les quinze jours ; l'occurrence du 16 avril est déplacée au vendredi 17.
    premiere = next(v for v in occ.values() if v and v[0].debut.date() == date(2020, 4, 2))
    assert [o.debut.date() for o in premiere] == [date(2020, 4, 2), date(2020, 4, 17), date(2020, 4, 30)]


def test_absence_hebdomadaire_en_journees_entieres():
    calendrier = lire("issue_4_weidenrinde.ics")
    occ = occupations(calendrier, datetime(2019, 8, 1, tzinfo=PARIS), datetime(2019, 10, 1, tzinfo=PARIS))
    assert occ == [
        Intervalle(datetime(2019, 8, 23, tzinfo=PARIS), datetime(2019, 8, 24, tzinfo=PARIS)),
        Intervalle(datetime(2019, 8, 30, tzinfo=PARIS), datetime(2019, 8, 31, tzinfo=PARIS)),
    ]


def test_dernier_vendredi_du_mois_deplace():
    calendrier = lire("issue_62_moved_event.ics")
    occ = toutes_occurrences(calendrier, datetime(2021, 11, 1, tzinfo=UTC), datetime(2022, 2, 1, tzinfo=UTC))
    (serie,) = occ.values()
    assert locaux(serie, BERLIN) == [
        datetime(2021, 11, 26, 21, 30),
        datetime(2021, 12, 17, 21, 30),
        datetime(2022, 1, 28, 21, 30),
    ]
    assert serie[1].recurrence_id == datetime(2021, 12, 31, 21, 30, tzinfo=BERLIN)
    # Événements transparents et sans durée : ils n'occupent rien.
    assert occupations(calendrier, datetime(2021, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC)) == []


def test_reunion_outlook_avec_salles():
    calendrier = lire("subcomponents.ics")
    (evenement,) = calendrier.evenements
    assert evenement.fuseau == "Europe/Berlin"
    assert (evenement.debut, evenement.fin) == (
        datetime(2019, 5, 27, 14, tzinfo=BERLIN),
        datetime(2019, 5, 27, 16, 30, tzinfo=BERLIN),
    )
    assert len(evenement.participants) == 6
    assert [p[2] for p in evenement.participants].count("ACCEPTED") == 3


# --- Écriture et aller-retour -----------------------------------------------------------------


def _evenements_exemple():
    return [
        EvenementIcs(
            uid="serie-1@portail",
            titre="Visite à domicile",
            debut=datetime(2026, 3, 2, 10, tzinfo=PARIS),
            fin=datetime(2026, 3, 2, 11, tzinfo=PARIS),
            rrule="FREQ=WEEKLY;UNTIL=20261231T225959Z;BYDAY=MO,TH",
            exdates=(datetime(2026, 3, 5, 10, tzinfo=PARIS),),
            sequence=2,
            lieu="Domicile",
            description="Toilette ; aide au repas",
            participants=(("mailto:aide@example.org", "Aide à domicile", "ACCEPTED"),),
            derniere_modification=datetime(2026, 2, 1, 8, tzinfo=UTC),
        ),
        EvenementIcs(
            uid="serie-1@portail",
            titre="Visite déplacée",
            debut=datetime(2026, 3, 10, 15, tzinfo=PARIS),
            fin=datetime(2026, 3, 10, 16, 30, tzinfo=PARIS),
            recurrence_id=datetime(2026, 3, 9, 10, tzinfo=PARIS),
            sequence=3,
        ),
        EvenementIcs(
            uid="serie-1@portail",
            titre="Visite annulée",
            debut=datetime(2026, 3, 12, 10, tzinfo=PARIS),
            fin=datetime(2026, 3, 12, 11, tzinfo=PARIS),
            recurrence_id=datetime(2026, 3, 12, 10, tzinfo=PARIS),
            statut="CANCELLED",
        ),
        EvenementIcs(
            uid="conges@portail",
            titre="Congés",
            debut=datetime(2026, 8, 3, tzinfo=PARIS),
            fin=datetime(2026, 8, 8, tzinfo=PARIS),
            journee_entiere=True,
            statut="TENTATIVE",
        ),
        EvenementIcs(
            uid="londres@portail",
            titre="Réunion",
            debut=datetime(2026, 10, 20, 9, tzinfo=LONDRES),
            fin=datetime(2026, 10, 20, 10, tzinfo=LONDRES),
            fuseau="Europe/London",
            rrule="FREQ=DAILY;COUNT=10",
        ),
        EvenementIcs(
            uid="note@portail",
            titre="Pour information",
            debut=datetime(2026, 5, 5, 12, tzinfo=PARIS),
            fin=datetime(2026, 5, 5, 13, tzinfo=PARIS),
            transparent=True,
        ),
    ]


def test_ecriture_conforme():
    texte = ecrire_calendrier(_evenements_exemple(), nom="Agenda de Mme Exemple").decode()
    for ligne in (
        "VERSION:2.0",
        "PRODID:-//Portail de coordination//agenda//FR",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Agenda de Mme Exemple",
        "TZID:Europe/Paris",
        "TZID:Europe/London",
        "DTSTART;VALUE=DATE:20260803",
        "DTEND;VALUE=DATE:20260808",
        "RECURRENCE-ID;TZID=Europe/Paris:20260309T100000",
        "STATUS:CANCELLED",
        "SEQUENCE:3",
        "TRANSP:TRANSPARENT",
        "EXDATE;TZID=Europe/Paris:20260305T100000",
    ):
        assert ligne in texte, ligne
    assert texte.count("BEGIN:VTIMEZONE") == 2
    assert texte.count("DTSTAMP:") == 6


def test_aller_retour():
    evenements = _evenements_exemple()
    relus = lire_calendrier(ecrire_calendrier(evenements, nom="Essai"))
    assert relus.avertissements == ()
    assert list(relus.evenements) == evenements
    original = CalendrierIcs(tuple(evenements), (), ())
    annee = (datetime(2026, 1, 1, tzinfo=PARIS), datetime(2027, 1, 1, tzinfo=PARIS))
    occ = occupations(original, *annee)
    assert occupations(relus, *annee) == occ
    # 86 visites (88 lundis et jeudis, moins l'EXDATE et l'annulée ; la déplacée comptée), les congés
    # qui absorbent les visites des 3 et 6 août, 10 réunions dont 3 confondues avec une visite.
    assert len(occ) == 86 + 1 - 2 + 10 - 3
    assert (
        Intervalle(datetime(2026, 3, 10, 15, tzinfo=PARIS), datetime(2026, 3, 10, 16, 30, tzinfo=PARIS))
        in occ
    )
    assert not any(o.debut == datetime(2026, 3, 12, 10, tzinfo=PARIS) for o in occ)


def test_aller_retour_du_gros_calendrier():
    calendrier = lire("issue_173_only_modifications_error.ics")
    relus = lire_calendrier(ecrire_calendrier(calendrier.evenements, nom="Relu"))
    assert relus.evenements == calendrier.evenements
    annee = (datetime(2024, 1, 1, tzinfo=PARIS), datetime(2025, 1, 1, tzinfo=PARIS))
    assert occupations(relus, *annee) == occupations(calendrier, *annee)


# --- Refus ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "contenu, message",
    [
        (b"%PDF-1.7 pas un calendrier", "BEGIN:VCALENDAR"),
        (b"BEGIN:VCALENDAR\x00\x01\x02", "binaire"),
        ("Bonjour", "BEGIN:VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n:::\r\n", "illisible"),
    ],
)
def test_fichiers_refuses_en_francais(contenu, message):
    with pytest.raises(ErreurIcs) as exc:
        lire_calendrier(contenu)
    assert message in exc.value.messages[0]


def test_fichier_trop_gros():
    with pytest.raises(ErreurIcs, match="trop gros"):
        lire_calendrier((DONNEES / "issue_173_only_modifications_error.ics").read_bytes(), taille_max=100_000)


def test_horaires_flottants_et_sans_fin():
    contenu = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:essai\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260329T023000\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:b\r\nDTSTART;VALUE=DATE:20260329\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:c\r\nDTSTART:20260601T100000\r\nDURATION:PT45M\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:d\r\nSUMMARY:sans début\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    calendrier = lire_calendrier(contenu, fuseau_par_defaut="Europe/Paris")
    a, b, c = calendrier.evenements
    assert a.debut == a.fin == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 02:30 inexistante → 03:30
    assert b.journee_entiere and ecart(b.debut, b.fin) == timedelta(hours=23)
    assert c.fin - c.debut == timedelta(minutes=45)
    assert any("sans début" in a or "DTSTART" in a for a in calendrier.avertissements)


def test_ecriture_directe_equivalente_au_temoin_icalendar():
    from agenda.ics import _ecrire_avec_icalendar

    evenements = [
        *_evenements_exemple(),
        EvenementIcs(
            uid="long@portail",
            titre="Réunion de coordination ; équipe « SSIAD », famille, médecin traitant — " * 4,
            debut=datetime(2026, 6, 1, 9, tzinfo=UTC),
            fin=datetime(2026, 6, 1, 10, tzinfo=UTC),
            fuseau="UTC",
            description="Ligne 1\nLigne 2, avec virgule ; point-virgule \\ barre",
            participants=(("mailto:a@example.org", "Dupont, Marie: IDE", "TENTATIVE"),),
        ),
    ]
    direct = ecrire_calendrier(evenements, nom="Équipe ; essai")
    assert all(len(ligne) <= 75 for ligne in direct.split(b"\r\n"))
    assert (
        lire_calendrier(direct).evenements
        == lire_calendrier(_ecrire_avec_icalendar(evenements, nom="x")).evenements
    )
    assert lire_calendrier(direct).evenements == tuple(evenements)


def test_scenario_du_banc_agenda_ics():
    from bench import run

    chiffres = run.SCENARIOS["agenda_ics"](
        run.Contexte(
            echelle="S",
            database_url="",
            dossier=Path("."),
            options={"agenda_ics": {"evenements": 200, "repetitions": 2}},
        )
    )
    assert chiffres["evenements"] == 200 and chiffres["octets"] > 0
    assert chiffres["ecriture_ms_p50"] > 0 and chiffres["intervalles_occupes"] > 200


def test_regle_dangereuse_d_un_fichier_importe_ecartee_sans_planter():
    contenu = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:essai\r\n"
        "BEGIN:VEVENT\r\nUID:rafale\r\nDTSTART:20260101T100000Z\r\nDTEND:20260101T100001Z\r\n"
        "RRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:sage\r\nDTSTART:20260101T100000Z\r\nDTEND:20260101T110000Z\r\n"
        "RRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    calendrier = lire_calendrier(contenu)
    assert [e.uid for e in calendrier.evenements] == ["sage"]
    assert any("rafale" in a and "SECONDLY" in a for a in calendrier.avertissements)
    assert (
        len(occupations(calendrier, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))) == 3
    )
