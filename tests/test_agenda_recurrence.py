"""Dépliage des séries récurrentes (agenda/recurrence.py, ADR 0023) : heure murale de part et
d'autre des changements d'heure, UNTIL, COUNT, INTERVAL, BYSETPOS, EXDATE, remplacements."""

from dataclasses import astuple
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from agenda.recurrence import (
    Occurrence,
    Remplacement,
    Serie,
    decrire_regle,
    deplier,
    ecart,
    fin_de_serie,
    normaliser_rrule,
    rattacher,
)

PARIS = ZoneInfo("Europe/Paris")
UTC = UTC


def h(*args):
    return datetime(*args, tzinfo=PARIS)


ANNEE = (h(2026, 1, 1), h(2027, 1, 1))


def debuts(occurrences):
    return [o.debut.astimezone(PARIS).replace(tzinfo=None) for o in occurrences]


def test_hebdomadaire_garde_l_heure_murale_au_passage_a_l_heure_d_ete():
    serie = Serie(h(2026, 3, 23, 10), h(2026, 3, 23, 11), rrule="FREQ=WEEKLY;COUNT=3")
    occ = deplier(serie, *ANNEE)
    assert debuts(occ) == [datetime(2026, 3, 23, 10), datetime(2026, 3, 30, 10), datetime(2026, 4, 6, 10)]
    assert [o.debut.utcoffset() for o in occ] == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=2)]
    assert occ[0].debut.astimezone(UTC).hour == 9 and occ[1].debut.astimezone(UTC).hour == 8
    assert all(ecart(o.debut, o.fin) == timedelta(hours=1) for o in occ)
    assert occ[1].recurrence_id == occ[1].debut


def test_quotidien_garde_l_heure_murale_au_retour_a_l_heure_d_hiver():
    serie = Serie(h(2026, 10, 24, 9, 30), h(2026, 10, 24, 10), rrule="FREQ=DAILY;COUNT=3")
    occ = deplier(serie, *ANNEE)
    assert debuts(occ) == [datetime(2026, 10, d, 9, 30) for d in (24, 25, 26)]
    assert [o.debut.utcoffset() for o in occ] == [timedelta(hours=2), timedelta(hours=1), timedelta(hours=1)]


def test_heure_inexistante_decalee_d_une_heure_et_heure_ambigue_prise_en_heure_d_ete():
    serie = Serie(h(2026, 3, 28, 2, 30), h(2026, 3, 28, 3, 30), rrule="FREQ=DAILY;COUNT=3")
    occ = deplier(serie, *ANNEE)
    # 29 mars 02:30 n'existe pas : décalage d'avant le saut (RFC 5545), soit 03:30 heure d'été.
    assert debuts(occ) == [
        datetime(2026, 3, 28, 2, 30),
        datetime(2026, 3, 29, 3, 30),
        datetime(2026, 3, 30, 2, 30),
    ]
    assert occ[1].debut.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert ecart(occ[1].debut, occ[1].fin) == timedelta(hours=1)
    serie = Serie(h(2026, 10, 24, 2, 30), h(2026, 10, 24, 3), rrule="FREQ=DAILY;COUNT=2")
    occ = deplier(serie, *ANNEE)
    assert occ[1].debut.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST


def test_until_en_utc_et_until_local():
    base = {"debut": h(2026, 3, 2, 10), "fin": h(2026, 3, 2, 11)}
    # UNTIL « Z » = 09:00 UTC le 30 mars = 11:00 heure d'été : l'occurrence de 10:00 en fait partie.
    avec_z = Serie(**base, rrule="FREQ=WEEKLY;UNTIL=20260330T090000Z")
    assert debuts(deplier(avec_z, *ANNEE))[-1] == datetime(2026, 3, 30, 10)
    # 08:00 UTC = 10:00 locale : incluse ; 07:59 UTC exclut le 30 mars.
    assert debuts(deplier(Serie(**base, rrule="FREQ=WEEKLY;UNTIL=20260330T075900Z"), *ANNEE))[-1] == datetime(
        2026, 3, 23, 10
    )
    local = Serie(**base, rrule="FREQ=WEEKLY;UNTIL=20260330T100000")
    assert len(deplier(local, *ANNEE)) == 5
    date_seule = Serie(**base, rrule="FREQ=WEEKLY;UNTIL=20260330")
    assert len(deplier(date_seule, *ANNEE)) == 5
    assert fin_de_serie(avec_z) == h(2026, 3, 30, 11)


def test_count_interval_et_fin_de_serie():
    serie = Serie(h(2026, 1, 5, 14), h(2026, 1, 5, 15), rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=5")
    assert debuts(deplier(serie, *ANNEE)) == [
        datetime(2026, 1, 5, 14),
        datetime(2026, 1, 8, 14),
        datetime(2026, 1, 19, 14),
        datetime(2026, 1, 22, 14),
        datetime(2026, 2, 2, 14),
    ]
    assert fin_de_serie(serie) == h(2026, 2, 2, 15)
    assert fin_de_serie(Serie(h(2026, 1, 5, 14), h(2026, 1, 5, 15), rrule="FREQ=DAILY")) is None
    assert fin_de_serie(Serie(h(2026, 1, 5, 14), h(2026, 1, 5, 15))) == h(2026, 1, 5, 15)
    lointaine = Serie(h(2026, 1, 5, 14), h(2026, 1, 5, 15), rrule="FREQ=DAILY;UNTIL=99991231T000000Z")
    assert fin_de_serie(lointaine) is None  # sans dérouler 2,9 millions d'occurrences


def test_dernier_vendredi_du_mois_par_bysetpos():
    serie = Serie(h(2026, 1, 30, 16), h(2026, 1, 30, 17), rrule="FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1;COUNT=4")
    assert [d.date() for d in debuts(deplier(serie, *ANNEE))] == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 27),
        date(2026, 4, 24),
    ]


def test_exdate_et_occurrences_deplacees_ou_annulees():
    serie = Serie(
        h(2026, 6, 1, 9),
        h(2026, 6, 1, 10),
        rrule="FREQ=DAILY;COUNT=5",
        exdates=(datetime(2026, 6, 2, 7, tzinfo=UTC),),  # 09:00 Paris, donnée en UTC
        remplacements=(
            Remplacement(h(2026, 6, 3, 9), debut=h(2026, 6, 10, 15), fin=h(2026, 6, 10, 17), cle="r1"),
            Remplacement(h(2026, 6, 4, 9), annulee=True),
        ),
    )
    occ = deplier(serie, h(2026, 6, 1), h(2026, 6, 6))
    assert debuts(occ) == [datetime(2026, 6, 1, 9), datetime(2026, 6, 5, 9)]
    # L'occurrence déplacée apparaît à son nouvel horaire, hors de la fenêtre d'origine.
    deplacee = deplier(serie, h(2026, 6, 10), h(2026, 6, 11))
    assert deplacee == [Occurrence(h(2026, 6, 10, 15), h(2026, 6, 10, 17), h(2026, 6, 3, 9), False, "r1")]
    assert fin_de_serie(serie) == h(2026, 6, 10, 17)


def test_journee_entiere_hebdomadaire_reste_une_journee_locale():
    serie = Serie(
        h(2026, 3, 27),
        h(2026, 3, 28),
        journee_entiere=True,
        rrule="FREQ=WEEKLY;COUNT=5",
        exdates=(h(2026, 4, 10),),
    )
    occ = deplier(serie, h(2026, 3, 1), h(2026, 5, 1))
    assert [o.debut.date() for o in occ] == [
        date(2026, 3, 27),
        date(2026, 4, 3),
        date(2026, 4, 17),
        date(2026, 4, 24),
    ]
    assert all(o.journee_entiere and o.debut.hour == 0 and o.fin.hour == 0 for o in occ)
    assert [ecart(o.debut, o.fin) for o in occ] == [timedelta(hours=24)] * 4
    # Le dimanche du passage à l'heure d'été : une journée locale entière de 23 heures réelles.
    dimanche = Serie(h(2026, 3, 22), h(2026, 3, 23), journee_entiere=True, rrule="FREQ=WEEKLY;COUNT=2")
    o = deplier(dimanche, *ANNEE)[1]
    assert (o.debut, o.fin) == (h(2026, 3, 29), h(2026, 3, 30))
    assert ecart(o.debut, o.fin) == timedelta(hours=23)
    octobre = Serie(h(2026, 10, 18), h(2026, 10, 19), journee_entiere=True, rrule="FREQ=WEEKLY;COUNT=2")
    assert ecart(*astuple(deplier(octobre, *ANNEE)[1])[:2]) == timedelta(hours=25)


def test_duree_reelle_conservee_a_travers_le_retour_a_l_heure_d_hiver():
    # 01:30 → 03:30 le 25 octobre : trois heures réelles (l'heure 02:00-03:00 se répète).
    serie = Serie(h(2026, 10, 24, 1, 30), h(2026, 10, 24, 3, 30), rrule="FREQ=DAILY;COUNT=2")
    o = deplier(serie, *ANNEE)[1]
    assert ecart(o.debut, o.fin) == timedelta(hours=2)
    assert o.fin.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_fenetre_et_limite():
    serie = Serie(h(2020, 1, 1, 8), h(2020, 1, 1, 9), rrule="FREQ=DAILY")
    occ = deplier(serie, h(2026, 7, 1), h(2026, 7, 8))
    assert len(occ) == 7 and occ[0].debut == h(2026, 7, 1, 8)
    assert len(deplier(serie, *ANNEE, limite=10)) == 10
    chevauchant = deplier(serie, h(2026, 7, 1, 8, 30), h(2026, 7, 1, 8, 45))
    assert len(chevauchant) == 1


def test_evenement_non_recurrent():
    serie = Serie(h(2026, 5, 4, 10), h(2026, 5, 4, 11))
    assert deplier(serie, *ANNEE) == [Occurrence(h(2026, 5, 4, 10), h(2026, 5, 4, 11), None, False)]
    assert deplier(serie, h(2026, 5, 4, 11), h(2026, 5, 5)) == []


@pytest.mark.parametrize(
    "regle, message",
    [
        ("FREQ=MINUTELY", "Fréquence"),
        ("FREQ=SECONDLY;COUNT=5", "Fréquence"),
        ("FREQ=DAILY;COUNT=5000", "COUNT"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z", "à la fois"),
        ("n'importe quoi", "FREQ"),
        ("FREQ=DAILY;BYDAY=XX", "illisible"),
        ("", "vide"),
        ("BYDAY=MO", "FREQ"),
        ("FREQ=DAILY;UNTIL=20200101T000000Z", "aucune occurrence"),
    ],
)
def test_regles_refusees_avec_un_message_en_francais(regle, message):
    with pytest.raises(ValidationError) as exc:
        normaliser_rrule(regle, h(2026, 1, 1, 10))
    assert message in exc.value.messages[0]


def test_normaliser_rrule():
    assert normaliser_rrule("RRULE:FREQ=WEEKLY;UNTIL=20261231T100000;BYDAY=MO", h(2026, 1, 5, 10)) == (
        "FREQ=WEEKLY;UNTIL=20261231T090000Z;BYDAY=MO"
    )
    assert (
        normaliser_rrule("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1", h(2026, 1, 30, 10))
        == "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1"
    )


def test_horaire_sans_fuseau_refuse():
    with pytest.raises(ValidationError, match="fuseau"):
        Serie(datetime(2026, 1, 1, 10), h(2026, 1, 1, 11))
    with pytest.raises(ValidationError, match="Fuseau horaire inconnu"):
        Serie(h(2026, 1, 1, 10), h(2026, 1, 1, 11), fuseau="Mars/Olympus")


@settings(max_examples=60, deadline=None)
@given(
    jour=st.integers(min_value=0, max_value=364),
    heure=st.integers(min_value=0, max_value=23),
    minute=st.sampled_from([0, 15, 30, 45]),
    duree_min=st.integers(min_value=15, max_value=60 * 30),
    regle=st.sampled_from(
        [
            "FREQ=DAILY;COUNT=40",
            "FREQ=WEEKLY;BYDAY=MO,SU",
            "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1",
            "FREQ=DAILY;INTERVAL=3",
        ]
    ),
    fenetre_jour=st.integers(min_value=0, max_value=400),
    fenetre_heures=st.integers(min_value=1, max_value=24 * 20),
)
def test_une_fenetre_donne_exactement_les_occurrences_qui_la_chevauchent(
    jour, heure, minute, duree_min, regle, fenetre_jour, fenetre_heures
):
    debut = rattacher(datetime(2026, 1, 1, heure, minute) + timedelta(days=jour), PARIS)
    serie = Serie(debut, debut + timedelta(minutes=duree_min), rrule=regle)
    tout = deplier(serie, h(2025, 1, 1), h(2029, 1, 1), limite=5000)
    f_debut = rattacher(datetime(2026, 1, 1) + timedelta(days=fenetre_jour), PARIS)
    f_fin = f_debut + timedelta(hours=fenetre_heures)
    attendu = [o for o in tout if o.debut < f_fin and f_debut < o.fin]
    assert deplier(serie, f_debut, f_fin) == attendu
    # Heure murale gardée (décalée seulement le jour où elle n'existe pas), durée réelle constante.
    premier = debut.astimezone(PARIS)
    for o in tout:
        jour_local = o.debut.astimezone(PARIS).date()
        assert o.debut == rattacher(datetime.combine(jour_local, premier.time()), PARIS)
        assert ecart(o.debut, o.fin) == timedelta(minutes=duree_min)


@pytest.mark.parametrize(
    ("regle", "phrase"),
    [
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "chaque semaine, les lundi, mercredi et vendredi"),
        ("RRULE:FREQ=DAILY", "tous les jours"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "toutes les 2 semaines, le mardi"),
        ("FREQ=MONTHLY;BYDAY=1MO", "chaque mois, le 1er lundi"),
        ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=6", "chaque mois, le dernier vendredi, 6 fois"),
        ("FREQ=YEARLY;INTERVAL=3", "tous les 3 ans"),
        ("n'importe quoi", "n'importe quoi"),  # illisible : rendu tel quel, rien n'est perdu
    ],
)
def test_regle_en_francais_courant(regle, phrase):
    assert decrire_regle(regle) == phrase
