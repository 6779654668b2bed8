"""Moteur de créneaux communs (agenda/creneaux.py) : scénarios concrets et propriétés (hypothesis).
Module pur : aucun accès à la base."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenda.creneaux import Participant, absents, chercher_creneaux, departs_complets, libre
from agenda.disponibilites import Plage, deplier_plages
from agenda.intervalles import Intervalle

PARIS = ZoneInfo("Europe/Paris")
M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)


def a(jour: int, heure: int, minute: int = 0, mois: int = 12) -> dt.datetime:
    return dt.datetime(2026, mois, jour, heure, minute, tzinfo=PARIS)


def semaine(jours=range(5), de=9, a_=17):
    return tuple(deplier_plages([Plage(frozenset(jours), dt.time(de), dt.time(a_))], a(7, 0), a(12, 0)))


LUNDI_AU_VENDREDI = semaine()


def pro(cle, occupations=(), **champs) -> Participant:
    return Participant(
        cle=cle,
        nom=champs.pop("nom", cle),
        disponibilites=champs.pop("disponibilites", LUNDI_AU_VENDREDI),
        occupations=tuple(Intervalle(d, f) for d, f in occupations),
        **champs,
    )


# --- Scénarios ------------------------------------------------------------------------------------


def test_trois_professionnels_et_l_usager_au_premier_creneau_commun():
    participants = [
        pro("medecin", [(a(7, 9), a(7, 12))]),
        pro("ide", [(a(7, 13), a(7, 15))]),
        pro("educateur", [(a(7, 15), a(7, 17))]),
        pro("usager", disponibilites=semaine(range(7), 8, 20)),
    ]
    resultat = chercher_creneaux(participants, duree=H, debut=a(7, 0), fin=a(12, 0), nombre=3)
    assert resultat.complet and resultat.creneaux[0].debut == a(7, 12)
    assert resultat.creneaux[0].absents == ()
    assert "tout le monde est libre" in resultat.message


def test_le_temps_libre_de_chacun_change_la_reponse():
    """L'infirmière finit une visite à 10 h et doit rouler 30 minutes : pas de réunion avant 10 h 30."""
    sans = [pro("ide", [(a(7, 9), a(7, 10))]), pro("medecin")]
    avec = [pro("ide", [(a(7, 9), a(7, 10))], tampon_avant=30 * M), pro("medecin")]
    assert departs_complets(sans, duree=H, debut=a(7, 9), fin=a(7, 12))[0] == a(7, 10)
    assert departs_complets(avec, duree=H, debut=a(7, 9), fin=a(7, 12))[0] == a(7, 10, 30)
    # Et il lui faut 30 minutes après la réunion avant sa visite de 14 h : au plus tard 12 h 30.
    apres = [pro("ide", [(a(7, 14), a(7, 15))], tampon_apres=30 * M), pro("medecin")]
    departs = departs_complets(apres, duree=H, debut=a(7, 12), fin=a(7, 15))
    assert departs[-1] == a(7, 12, 30)


def test_un_facultatif_absent_baisse_le_rang_sans_exclure():
    participants = [pro("medecin"), pro("kine", [(a(7, 9), a(7, 10))], requis=False)]
    resultat = chercher_creneaux(participants, duree=H, debut=a(7, 9), fin=a(7, 11), nombre=5)
    assert resultat.complet
    assert resultat.creneaux[0].debut == a(7, 10) and resultat.creneaux[0].absents == ()
    assert any(c.absents == ("kine",) for c in resultat.creneaux)


def test_les_preferences_de_l_usager_passent_le_matin_devant():
    matins = tuple(deplier_plages([Plage(frozenset(range(7)), dt.time(9), dt.time(12))], a(7, 0), a(12, 0)))
    participants = [
        pro("medecin", [(a(7, 9), a(7, 17))]),  # lundi pris : mardi au plus tôt
        pro("usager", disponibilites=semaine(range(7), 8, 20), preferences=matins),
    ]
    resultat = chercher_creneaux(participants, duree=H, debut=a(7, 0), fin=a(12, 0), nombre=4)
    assert [c.debut.astimezone(PARIS).hour for c in resultat.creneaux[:2]] == [9, 10]
    assert all(c.debut.astimezone(PARIS).hour < 12 for c in resultat.creneaux[:4])


def test_aucun_creneau_commun_propose_les_meilleurs_partiels_en_nommant_l_absent():
    participants = [
        pro("medecin", nom="Dr Claire MARTIN", disponibilites=semaine([0], 9, 12)),
        pro("ide", nom="Inès IDE", disponibilites=semaine([1], 9, 12)),
        pro("educateur", nom="Éric EDUC", disponibilites=semaine([0, 1], 9, 12)),
    ]
    resultat = chercher_creneaux(participants, duree=H, debut=a(7, 0), fin=a(12, 0))
    assert not resultat.complet and resultat.creneaux
    assert all(len(c.absents) == 1 for c in resultat.creneaux)
    assert "au mieux, il manquerait" in resultat.message
    assert "Inès IDE" in resultat.message or "Dr Claire MARTIN" in resultat.message


def test_personne_de_disponible():
    resultat = chercher_creneaux([pro("medecin", disponibilites=())], duree=H, debut=a(7, 0), fin=a(12, 0))
    assert (
        resultat.creneaux == () and not resultat.complet and "personne n'est disponible" in resultat.message
    )


def test_preavis_et_grille_au_quart_d_heure():
    maintenant = a(7, 9, 7)
    departs = departs_complets([pro("medecin")], duree=H, debut=a(7, 0), fin=a(7, 12), maintenant=maintenant)
    assert departs[0] == a(7, 9, 15) and {d.minute for d in departs} <= {0, 15, 30, 45}
    avec_preavis = departs_complets(
        [pro("medecin")], duree=H, debut=a(7, 0), fin=a(7, 17), maintenant=maintenant, preavis=2 * H
    )
    assert avec_preavis[0] == a(7, 11, 15)


def test_creneaux_repartis_sur_plusieurs_demi_journees():
    resultat = chercher_creneaux(
        [pro("medecin"), pro("ide")], duree=H, debut=a(7, 0), fin=a(12, 0), nombre=10
    )
    demi_journees: dict = {}
    for c in resultat.creneaux:
        local = c.debut.astimezone(PARIS)
        demi_journees.setdefault((local.date(), local.hour >= 13), []).append(c)
    assert max(len(v) for v in demi_journees.values()) <= 2
    assert len(demi_journees) >= 5
    for liste in demi_journees.values():
        if len(liste) == 2:
            assert liste[0].fin <= liste[1].debut or liste[1].fin <= liste[0].debut


def test_changement_d_heure_de_fin_octobre():
    """Le dimanche 25 octobre 2026, Paris passe de UTC+2 à UTC+1 : la plage de 9 h reste à 9 h."""
    plages = [Plage(frozenset(range(7)), dt.time(9), dt.time(12))]
    ouverts = deplier_plages(plages, a(24, 0, mois=10), a(27, 0, mois=10))
    assert [(o.debut.astimezone(PARIS).hour, o.debut.astimezone(PARIS).utcoffset()) for o in ouverts] == [
        (9, dt.timedelta(hours=2)),
        (9, dt.timedelta(hours=1)),
        (9, dt.timedelta(hours=1)),
    ]
    participant = pro("medecin", disponibilites=tuple(ouverts))
    departs = departs_complets([participant], duree=H, debut=a(25, 0, mois=10), fin=a(26, 0, mois=10))
    assert [d.astimezone(PARIS).strftime("%H:%M") for d in departs][:2] == ["09:00", "09:15"]
    assert departs[-1].astimezone(PARIS).strftime("%H:%M") == "11:00"


def test_changement_d_heure_de_fin_mars():
    plages = [Plage(frozenset(range(7)), dt.time(1), dt.time(4))]
    [ouvert] = deplier_plages(plages, a(29, 0, mois=3), a(30, 0, mois=3))
    assert ouvert.duree == 2 * H  # 1 h – 4 h heure locale, l'heure de 2 h à 3 h n'existe pas ce jour-là


@pytest.mark.parametrize(
    "champs, message",
    [
        ({"duree": dt.timedelta(0)}, "durée"),
        ({"pas": dt.timedelta(0)}, "pas"),
        ({"fin": a(7, 0)}, "fin"),
        ({"debut": dt.datetime(2026, 12, 7)}, "fuseau"),
    ],
)
def test_mauvaise_demande_refusee_en_francais(champs, message):
    arguments = {"duree": H, "debut": a(7, 9), "fin": a(8, 9), **champs}
    with pytest.raises(ValidationError, match=message):
        chercher_creneaux([pro("medecin")], **arguments)
    with pytest.raises(ValidationError, match="au moins une personne"):
        chercher_creneaux([], duree=H, debut=a(7, 9), fin=a(8, 9))


# --- Propriétés -----------------------------------------------------------------------------------

DEBUT = a(7, 8)
FIN = a(8, 20)
QUART = 15 * M


@st.composite
def intervalles(draw, maximum=6):
    """Des intervalles au quart d'heure dans la fenêtre, éventuellement qui se chevauchent."""
    resultat = []
    for _ in range(draw(st.integers(0, maximum))):
        debut = DEBUT + draw(st.integers(0, 140)) * QUART
        duree = draw(st.integers(1, 24)) * QUART
        resultat.append(Intervalle(debut, debut + duree))
    return tuple(resultat)


@st.composite
def participants(draw):
    nombre = draw(st.integers(1, 4))
    personnes = []
    for rang in range(nombre):
        personnes.append(
            Participant(
                cle=f"p{rang}",
                nom=f"Personne {rang}",
                disponibilites=draw(intervalles(4)) or (Intervalle(DEBUT, FIN),),
                occupations=draw(intervalles(5)),
                requis=rang == 0 or draw(st.booleans()),
                tampon_avant=draw(st.sampled_from([0, 10, 15, 30])) * M,
                tampon_apres=draw(st.sampled_from([0, 5, 15, 45])) * M,
            )
        )
    return personnes


def libre_a_la_main(p: Participant, debut: dt.datetime, fin: dt.datetime) -> bool:
    """La définition, sans le moteur : dans une disponibilité (fusionnées) et à distance des occupations."""
    dedans = any(d.debut <= debut and fin <= d.fin for d in _fusion(p.disponibilites))
    loin = all(not (debut - p.tampon_avant < o.fin and o.debut < fin + p.tampon_apres) for o in p.occupations)
    return dedans and loin


def _fusion(liste):
    from agenda.disponibilites import fusionner

    return fusionner(liste)


PROPRIETES = settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@PROPRIETES
@given(participants(), st.sampled_from([30, 45, 60, 90]))
def test_chaque_creneau_complet_est_libre_pour_chaque_requis(personnes, minutes):
    duree = minutes * M
    resultat = chercher_creneaux(personnes, duree=duree, debut=DEBUT, fin=FIN, nombre=20)
    if resultat.complet:
        for creneau in resultat.creneaux:
            for p in personnes:
                if p.requis:
                    assert libre_a_la_main(p, creneau.debut, creneau.fin), (p, creneau)
            assert DEBUT <= creneau.debut and creneau.fin <= FIN


@PROPRIETES
@given(participants(), st.sampled_from([30, 45, 60]))
def test_aucun_creneau_libre_n_est_oublie(personnes, minutes):
    duree = minutes * M
    trouves = departs_complets(personnes, duree=duree, debut=DEBUT, fin=FIN)
    exhaustif = []
    depart = DEBUT
    while depart + duree <= FIN:
        if all(libre_a_la_main(p, depart, depart + duree) for p in personnes if p.requis):
            exhaustif.append(depart)
        depart += QUART
    assert trouves == exhaustif


@PROPRIETES
@given(participants())
def test_les_absents_d_un_creneau_partiel_sont_exactement_les_requis_occupes(personnes):
    resultat = chercher_creneaux(personnes, duree=H, debut=DEBUT, fin=FIN, nombre=5)
    for creneau in resultat.creneaux:
        occupes = {p.cle for p in personnes if not libre_a_la_main(p, creneau.debut, creneau.fin)}
        assert set(creneau.absents) == occupes
        assert set(absents(personnes, creneau.debut, creneau.fin)) == occupes
        if not resultat.complet:
            assert {p.cle for p in personnes if p.requis} & occupes


@PROPRIETES
@given(participants())
def test_libre_ne_deborde_jamais_des_disponibilites(personnes):
    for p in personnes:
        for intervalle in libre(p):
            assert any(d.contient(intervalle) for d in _fusion(p.disponibilites))
