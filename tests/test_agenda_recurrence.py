"""Récurrences (agenda/recurrence.py) : heure murale gardée aux changements d'heure, règles RFC 5545,
dates retirées, séances déplacées et annulées, journées entières, fin de série. Sans base."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from agenda.recurrence import Remplacement, Serie, deplier, fin_de_serie, normaliser_rrule

PARIS = ZoneInfo("Europe/Paris")
H = dt.timedelta(hours=1)


def a(annee, mois, jour, heure=0, minute=0) -> dt.datetime:
    return dt.datetime(annee, mois, jour, heure, minute, tzinfo=PARIS)


def locales(occurrences) -> list[str]:
    return [o.debut.astimezone(PARIS).strftime("%d/%m %H:%M") for o in occurrences]


def serie(debut, duree=H, rrule="", **champs) -> Serie:
    return Serie(
        debut=debut, fin=debut + duree, rrule=normaliser_rrule(rrule, debut) if rrule else "", **champs
    )


def test_hebdomadaire_garde_10_h_de_part_et_d_autre_du_passage_a_l_heure_d_ete():
    s = serie(a(2026, 3, 16, 10), rrule="FREQ=WEEKLY;COUNT=3")
    occurrences = deplier(s, a(2026, 3, 1), a(2026, 4, 30))
    assert locales(occurrences) == ["16/03 10:00", "23/03 10:00", "30/03 10:00"]
    assert [o.debut.hour for o in occurrences] == [9, 9, 8]  # en UTC : le décalage a changé
    assert all(o.fin - o.debut == H for o in occurrences)


def test_quotidien_au_passage_a_l_heure_d_hiver():
    s = serie(a(2026, 10, 24, 10), rrule="FREQ=DAILY;COUNT=3")
    assert locales(deplier(s, a(2026, 10, 1), a(2026, 11, 1))) == [
        "24/10 10:00",
        "25/10 10:00",
        "26/10 10:00",
    ]


def test_heure_inexistante_du_jour_du_passage_a_l_heure_d_ete():
    """2 h 30 n'existe pas le 29 mars 2026 : l'occurrence prend le décalage d'avant (3 h 30 locale)."""
    s = serie(a(2026, 3, 28, 2, 30), rrule="FREQ=DAILY;COUNT=3")
    assert locales(deplier(s, a(2026, 3, 27), a(2026, 4, 1))) == ["28/03 02:30", "29/03 03:30", "30/03 02:30"]


def test_until_local_converti_en_utc_et_compris():
    s = serie(a(2026, 12, 7, 9), rrule="FREQ=WEEKLY;UNTIL=20261221")
    assert s.rrule == "FREQ=WEEKLY;UNTIL=20261221T225959Z"
    assert locales(deplier(s, a(2026, 12, 1), a(2027, 1, 31))) == [
        "07/12 09:00",
        "14/12 09:00",
        "21/12 09:00",
    ]
    assert fin_de_serie(s) == a(2026, 12, 21, 10)


def test_dernier_vendredi_du_mois_et_intervalle():
    s = serie(a(2026, 1, 30, 14), rrule="FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1;COUNT=4")
    assert locales(deplier(s, a(2026, 1, 1), a(2026, 12, 31))) == [
        "30/01 14:00", "27/02 14:00", "27/03 14:00", "24/04 14:00",
    ]  # fmt: skip
    tous_les_15_jours = serie(a(2026, 12, 1, 9), rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH")
    assert locales(deplier(tous_les_15_jours, a(2026, 12, 1), a(2027, 1, 1))) == [
        "01/12 09:00", "03/12 09:00", "15/12 09:00", "17/12 09:00", "29/12 09:00", "31/12 09:00",
    ]  # fmt: skip


def test_exdate_seance_deplacee_hors_fenetre_et_seance_annulee():
    debut = a(2026, 12, 7, 9)
    s = Serie(
        debut=debut,
        fin=debut + H,
        rrule="FREQ=WEEKLY;COUNT=5",
        exdates=(a(2026, 12, 14, 9),),
        remplacements=(
            Remplacement(a(2026, 12, 21, 9), debut=a(2027, 1, 2, 11), cle="deplacee"),
            Remplacement(a(2026, 12, 28, 9), annulee=True, cle="annulee"),
        ),
    )
    decembre = deplier(s, a(2026, 12, 1), a(2027, 1, 1))
    assert locales(decembre) == ["07/12 09:00", "28/12 09:00"]
    assert decembre[1].annulee and decembre[1].cle == "annulee"
    janvier = deplier(s, a(2027, 1, 1), a(2027, 2, 1))
    assert locales(janvier) == ["02/01 11:00", "04/01 09:00"]
    assert janvier[0].recurrence_id == a(2026, 12, 21, 9) and janvier[0].fin - janvier[0].debut == H
    assert fin_de_serie(s) == a(2027, 1, 4, 10)


def test_journee_entiere_hebdomadaire_reste_une_journee_locale():
    s = Serie(debut=a(2026, 3, 23), fin=a(2026, 3, 24), journee_entiere=True, rrule="FREQ=WEEKLY;COUNT=2")
    [premiere, seconde] = deplier(s, a(2026, 3, 1), a(2026, 4, 30))
    assert seconde.debut == a(2026, 3, 30) and seconde.fin == a(2026, 3, 31)
    assert premiere.fin - premiere.debut == 24 * H and seconde.journee_entiere


def test_fenetre_au_milieu_d_une_occurrence_longue():
    s = serie(a(2026, 12, 7, 22), duree=4 * H, rrule="FREQ=DAILY;COUNT=3")
    assert locales(deplier(s, a(2026, 12, 8, 1), a(2026, 12, 8, 2))) == ["07/12 22:00"]


def test_serie_sans_fin():
    s = serie(a(2026, 12, 7, 9), rrule="FREQ=WEEKLY")
    assert fin_de_serie(s) is None
    assert len(deplier(s, a(2030, 1, 1), a(2030, 2, 1))) in (4, 5)
    assert len(deplier(s, a(2026, 1, 1), a(2046, 1, 1), limite=50)) == 50


def test_evenement_simple():
    s = Serie(debut=a(2026, 12, 7, 9), fin=a(2026, 12, 7, 10))
    assert locales(deplier(s, a(2026, 12, 7), a(2026, 12, 8))) == ["07/12 09:00"]
    assert deplier(s, a(2026, 12, 8), a(2026, 12, 9)) == []
    assert fin_de_serie(s) == a(2026, 12, 7, 10)


@pytest.mark.parametrize(
    "regle, message",
    [
        ("FREQ=SECONDLY", "fréquence"),
        ("FREQ=MINUTELY;COUNT=3", "fréquence"),
        ("FREQ=WEEKLY;COUNT=5000", "de 1 à 1000"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20270101", "pas les deux"),
        ("FREQ=WEEKLY;UNTIL=20271345", "n'existe pas"),
        ("FREQ=WEEKLY;BYDAY=XX", "illisible"),
        ("BONJOUR", "n'est pas compris"),
        ("FREQ=WEEKLY;FREQ=DAILY", "deux fois"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "aucune date"),
    ],
)
def test_regles_refusees_en_francais(regle, message):
    with pytest.raises(ValidationError, match=message):
        normaliser_rrule(regle, a(2026, 12, 7, 9))


def test_prefixe_et_minuscules_acceptes():
    assert normaliser_rrule("RRULE:freq=weekly;byday=mo,th", a(2026, 12, 7, 9)) == "FREQ=WEEKLY;BYDAY=MO,TH"
