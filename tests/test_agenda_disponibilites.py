"""Disponibilités de l'agenda : plages hebdomadaires dépliées à l'heure légale (changements d'heure
de mars et d'octobre 2026, validité, une semaine sur deux), jours fériés 2026 par zone
(métropole, Alsace-Moselle, outre-mer) et leurs journées d'occupation. Aucune base de données."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from agenda.disponibilites import Plage, deplier_plages, jours_feries, occupations_feries

PARIS = ZoneInfo("Europe/Paris")
SEMAINE = frozenset({0, 1, 2, 3, 4})


def paris(annee, mois, jour, heure=0, minute=0):
    return datetime(annee, mois, jour, heure, minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("dimanche", "avant", "apres"),
    [(date(2026, 3, 29), 1, 2), (date(2026, 10, 25), 2, 1)],
    ids=["29-mars-2026", "25-octobre-2026"],
)
def test_une_plage_de_9h_a_12h_reste_9h_12h_de_part_et_d_autre_du_changement(dimanche, avant, apres):
    plage = Plage(frozenset(range(7)), time(9), time(12))
    debut = datetime.combine(dimanche - timedelta(days=2), time(0), tzinfo=PARIS)
    fin = datetime.combine(dimanche + timedelta(days=3), time(0), tzinfo=PARIS)
    intervalles = deplier_plages([plage], debut, fin)
    assert len(intervalles) == 5
    for i in intervalles:
        assert (i.debut.astimezone(PARIS).time(), i.fin.astimezone(PARIS).time()) == (
            time(9),
            time(12),
        )
        assert i.duree == timedelta(hours=3)
    heures_utc = [i.debut.astimezone(UTC).hour for i in intervalles]
    assert heures_utc == [9 - avant, 9 - avant, 9 - apres, 9 - apres, 9 - apres]


def test_deplier_trie_fusionne_et_rogne():
    matin = Plage(SEMAINE, time(9), time(12))
    midi = Plage(frozenset({0}), time(11), time(14))  # chevauche le matin du lundi
    apres_midi = Plage(SEMAINE, time(14), time(18))  # touche la plage de midi le lundi
    debut, fin = paris(2026, 6, 8, 10), paris(2026, 6, 9, 16)  # du lundi 10 h au mardi 16 h
    intervalles = deplier_plages([apres_midi, matin, midi], debut, fin)
    assert [(i.debut, i.fin) for i in intervalles] == [
        (paris(2026, 6, 8, 10), paris(2026, 6, 8, 18)),
        (paris(2026, 6, 9, 9), paris(2026, 6, 9, 12)),
        (paris(2026, 6, 9, 14), paris(2026, 6, 9, 16)),
    ]


def test_validite_et_une_semaine_sur_deux_ancree_sur_le_debut():
    plage = Plage(
        frozenset({2}),  # mercredi
        time(14),
        time(17),
        du=date(2026, 6, 10),
        au=date(2026, 7, 22),
        toutes_les_n_semaines=2,
    )
    intervalles = deplier_plages([plage], paris(2026, 5, 1), paris(2026, 9, 1))
    assert [i.debut.astimezone(PARIS).date() for i in intervalles] == [
        date(2026, 6, 10),
        date(2026, 6, 24),
        date(2026, 7, 8),
        date(2026, 7, 22),
    ]


def test_une_plage_dans_un_autre_fuseau():
    plage = Plage(frozenset({0}), time(8), time(12), fuseau="America/Martinique")
    (intervalle,) = deplier_plages([plage], paris(2026, 6, 8), paris(2026, 6, 9, 12))
    assert intervalle.debut.astimezone(PARIS) == paris(2026, 6, 8, 14)  # 8 h en Martinique


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"jours": frozenset({7})}, "0 (lundi) à 6 (dimanche)"),
        ({"jours": frozenset()}, "0 (lundi) à 6 (dimanche)"),
        ({"heure_fin": time(8)}, "heure de fin"),
        ({"fuseau": "Europe/Lutece"}, "Fuseau horaire inconnu"),
        ({"du": date(2026, 2, 1), "au": date(2026, 1, 1)}, "fin de validité"),
        ({"toutes_les_n_semaines": 0}, "semaines"),
    ],
)
def test_plage_invalide_refusee_en_francais(kw, message):
    champs = {"jours": SEMAINE, "heure_debut": time(9), "heure_fin": time(12)} | kw
    with pytest.raises(ValidationError) as exc:
        Plage(**champs)
    assert message in exc.value.messages[0]


def test_deplier_refuse_les_heures_naives():
    with pytest.raises(ValidationError, match="fuseau"):
        deplier_plages([Plage(SEMAINE, time(9), time(12))], datetime(2026, 6, 8), datetime(2026, 6, 9))


def test_jours_feries_2026_metropole():
    feries = dict(jours_feries(date(2026, 1, 1), date(2026, 12, 31)))
    assert feries[date(2026, 5, 1)] == "Fête du Travail"
    assert feries[date(2026, 7, 14)] == "Fête nationale"
    assert feries[date(2026, 4, 6)] == "Lundi de Pâques"
    assert len(feries) == 11
    assert date(2026, 4, 3) not in feries and date(2026, 12, 26) not in feries


def test_jours_feries_alsace_moselle_ajoute_vendredi_saint_et_saint_etienne():
    feries = dict(jours_feries(date(2026, 1, 1), date(2026, 12, 31), zone="alsace-moselle"))
    assert feries[date(2026, 4, 3)] == "Vendredi saint"
    assert feries[date(2026, 12, 26)] == "Saint-Étienne"
    assert len(feries) == 13


@pytest.mark.parametrize(
    ("zone", "jour"),
    [
        ("guadeloupe", date(2026, 5, 27)),
        ("martinique", date(2026, 5, 22)),
        ("guyane", date(2026, 6, 10)),
        ("la-reunion", date(2026, 12, 20)),
        ("mayotte", date(2026, 4, 27)),
    ],
)
def test_jours_feries_outre_mer_abolition_de_l_esclavage(zone, jour):
    feries = dict(jours_feries(date(2026, 1, 1), date(2026, 12, 31), zone=zone))
    assert "esclavage" in feries[jour].lower()
    assert feries[date(2026, 7, 14)] == "Fête nationale"


def test_zone_inconnue_refusee_en_francais():
    with pytest.raises(ValidationError) as exc:
        jours_feries(date(2026, 1, 1), date(2026, 12, 31), zone="atlantide")
    assert "Zone de jours fériés inconnue" in exc.value.messages[0]
    assert "alsace-moselle" in exc.value.messages[0]


def test_occupations_feries_journees_entieres_a_l_heure_legale():
    occupations = occupations_feries(paris(2026, 4, 1), paris(2026, 5, 10))
    assert [(o.debut, o.fin) for o in occupations] == [
        (paris(2026, 4, 6), paris(2026, 4, 7)),
        (paris(2026, 5, 1), paris(2026, 5, 2)),
        (paris(2026, 5, 8), paris(2026, 5, 9)),
    ]
    # Rognées à la période :
    rognee = occupations_feries(paris(2026, 7, 14, 10), paris(2026, 7, 14, 12))
    assert [(o.debut, o.fin) for o in rognee] == [(paris(2026, 7, 14, 10), paris(2026, 7, 14, 12))]
    alsace = occupations_feries(paris(2026, 12, 24), paris(2026, 12, 31), zone="alsace-moselle")
    assert [o.debut.astimezone(PARIS).date() for o in alsace] == [date(2026, 12, 25)]
    assert alsace[0].duree == timedelta(days=2)  # Noël et Saint-Étienne fusionnés
