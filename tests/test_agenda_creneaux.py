"""Moteur de créneaux communs (issue 6, cas 4 et 4') : scénarios concrets (trois professionnels
et un usager, tampons, participant facultatif, préférences, résultat partiel, préavis, étalement,
changements d'heure, vrai calendrier ICS), refus en français, et propriétés vérifiées par
hypothesis contre une recherche exhaustive. Module pur : aucune base de données."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenda.creneaux import Participant, chercher_creneaux, debuts_complets
from agenda.disponibilites import Plage, deplier_plages
from agenda.intervalles import Intervalle

PARIS = ZoneInfo("Europe/Paris")
ECHANTILLONS = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "ics"
QUART = timedelta(minutes=15)
HEURE = timedelta(hours=1)


def h(jour: int, heure: int, minute: int = 0, mois: int = 6, annee: int = 2026) -> datetime:
    return datetime(annee, mois, jour, heure, minute, tzinfo=PARIS)


def iv(a: datetime, b: datetime) -> Intervalle:
    return Intervalle(a, b)


# Semaine du lundi 8 juin 2026.
LUNDI, VENDREDI_SOIR = h(8, 0), h(13, 0)
OUVRE = tuple(deplier_plages([Plage(frozenset({0, 1, 2, 3, 4}), time(9), time(18))], LUNDI, VENDREDI_SOIR))


def pro(cle, nom, occupations=(), **kw) -> Participant:
    return Participant(cle=cle, nom=nom, disponibilites=OUVRE, occupations=tuple(occupations), **kw)


def chercher(participants, **kw):
    kw.setdefault("duree", HEURE)
    kw.setdefault("debut", LUNDI)
    kw.setdefault("fin", VENDREDI_SOIR)
    return chercher_creneaux(participants, **kw)


# --- Scénarios concrets ---------------------------------------------------------------------------


def test_trois_professionnels_et_un_usager_le_premier_creneau_commun():
    martin = pro("m", "Dr Claire Martin", [iv(h(8, 9), h(8, 12)), iv(h(8, 14), h(8, 18))])
    durand = pro("d", "M. Paul Durand, infirmier", [iv(h(8, 12), h(9, 11))])
    leroy = pro("l", "Mme Anne Leroy, ergothérapeute", [iv(h(9, 11), h(9, 12))])
    usager = Participant(
        "u", "Mme Jeanne Petit", disponibilites=(iv(h(9, 10), h(9, 17)),)
    )  # l'usager n'est là que le mardi 10 h – 17 h
    resultat = chercher([martin, durand, leroy, usager])
    assert resultat.complet
    # Mardi : Durand occupé jusqu'à 11 h, Leroy de 11 h à 12 h : premier créneau commun à 12 h.
    debuts = sorted(c.debut for c in resultat.creneaux)
    assert debuts[0] == h(9, 12)
    assert all(c.debut.date() == h(9, 0).date() for c in resultat.creneaux)
    assert all(c.absents == () for c in resultat.creneaux)
    assert resultat.creneaux[0].debut.tzinfo is not None


def test_les_tampons_de_chaque_personne_changent_la_reponse():
    occupation = [iv(h(8, 10), h(8, 11))]
    sans = debuts_complets([pro("a", "A", occupation)], duree=HEURE, debut=h(8, 9), fin=h(8, 13))
    assert sans == [
        h(8, 9).astimezone(UTC),
        h(8, 11).astimezone(UTC),
        *[(h(8, 11) + QUART * k).astimezone(UTC) for k in range(1, 5)],
    ]
    # 30 min de trajet avant et après : plus de 9 h (fin 10 h + 30 min touche 10 h), ni avant 11 h 30.
    avec = debuts_complets(
        [
            pro(
                "a",
                "A",
                occupation,
                tampon_avant=timedelta(minutes=30),
                tampon_apres=timedelta(minutes=30),
            )
        ],
        duree=HEURE,
        debut=h(8, 9),
        fin=h(8, 13),
    )
    assert h(8, 9) not in avec and h(8, 11) not in avec
    assert min(avec) == h(8, 11, 30)
    # Le tampon est propre à la personne : un autre participant sans tampon ne l'hérite pas.
    autre = pro("b", "B", [iv(h(8, 10), h(8, 11))])
    assert h(8, 9) in debuts_complets([autre], duree=HEURE, debut=h(8, 9), fin=h(8, 13))


def test_un_facultatif_absent_fait_reculer_sans_exclure():
    requis = pro("r", "Dr Requis")
    facultatif = pro("f", "M. Facultatif", [iv(h(8, 9), h(8, 12))], requis=False)
    resultat = chercher([requis, facultatif], debut=h(8, 9), fin=h(8, 13), nombre=4)
    assert resultat.complet
    premier = resultat.creneaux[0]
    assert premier.debut == h(8, 12) and premier.absents == ()
    # 9 h (facultatif absent) reste proposé, plus bas, avec l'absent nommé par sa clé.
    neuf = [c for c in resultat.creneaux if c.debut == h(8, 9)]
    assert neuf and neuf[0].absents == ("f",)
    assert neuf[0].score < premier.score


def test_les_preferences_de_l_usager_placent_le_matin_en_tete():
    matins = tuple(iv(h(j, 8), h(j, 12)) for j in range(8, 13))
    usager = Participant("u", "Mme Petit", disponibilites=OUVRE, preferences=matins)
    medecin = pro("m", "Dr Martin", [iv(h(j, 9), h(j, 11)) for j in range(8, 13)])
    resultat = chercher([usager, medecin], nombre=5)
    assert resultat.complet
    # Le matin libre ne commence qu'à 11 h : 11 h–12 h est entièrement « le matin ».
    assert [c.debut for c in resultat.creneaux] == [h(j, 11) for j in range(8, 13)]
    assert all(c.score == pytest.approx(2001.0) for c in resultat.creneaux)
    sans_preference = chercher([Participant("u", "Mme Petit", disponibilites=OUVRE), medecin], nombre=1)
    assert sans_preference.creneaux[0].debut == h(8, 11)  # le plus tôt, même sans préférence


def test_sans_creneau_commun_les_meilleurs_partiels_nomment_l_absente():
    martin = pro("m", "Dr Claire Martin", [iv(LUNDI, VENDREDI_SOIR)])
    durand = pro("d", "M. Paul Durand")
    leroy = pro("l", "Mme Anne Leroy", [iv(h(8, 9), h(8, 18))])
    facultatif = pro("f", "M. Facultatif", [iv(h(9, 9), h(9, 18))], requis=False)
    resultat = chercher([martin, durand, leroy, facultatif])
    assert not resultat.complet
    assert resultat.creneaux
    assert "Dr Claire Martin ne serait pas disponible" in resultat.message
    assert resultat.message.startswith("Aucun créneau commun")
    for c in resultat.creneaux:
        assert c.absents[0] == "m"  # requis d'abord
        assert "l" not in c.absents  # les meilleurs partiels : Leroy présente
    # Le facultatif absent le mardi fait passer les autres jours devant.
    assert resultat.creneaux[0].absents == ("m",)


def test_personne_de_disponible_message_clair():
    resultat = chercher([pro("m", "Dr Martin", [iv(LUNDI, VENDREDI_SOIR)])])
    assert not resultat.complet and resultat.creneaux == ()
    assert "aucun participant requis" in resultat.message


def test_le_preavis_minimum_est_respecte():
    maintenant = h(8, 10, 7)
    resultat = chercher([pro("a", "A")], maintenant=maintenant, preavis=timedelta(hours=48), nombre=10)
    assert min(c.debut for c in resultat.creneaux) == h(10, 10, 15)  # prochain quart d'heure
    tous = debuts_complets(
        [pro("a", "A")],
        duree=HEURE,
        debut=LUNDI,
        fin=VENDREDI_SOIR,
        maintenant=maintenant,
        preavis=timedelta(hours=48),
    )
    assert min(tous) == h(10, 10, 15)


def test_les_resultats_sont_etales_sur_les_demi_journees():
    resultat = chercher([pro("a", "A")], nombre=10)
    demi_journees = [(c.debut.date(), c.debut.hour >= 13) for c in resultat.creneaux]
    assert len(resultat.creneaux) == 10
    assert len(set(demi_journees)) == 10  # une semaine = 10 demi-journées, une chacune
    # Plus de créneaux demandés que de demi-journées : deux au plus par demi-journée.
    beaucoup = chercher([pro("a", "A")], nombre=30)
    assert len(beaucoup.creneaux) == 20
    compte = {}
    for c in beaucoup.creneaux:
        cle = (c.debut.date(), c.debut.hour >= 13)
        compte[cle] = compte.get(cle, 0) + 1
    assert max(compte.values()) == 2


@pytest.mark.parametrize(
    ("dimanche", "decalage_avant", "decalage_apres"),
    [(datetime(2026, 3, 29), 1, 2), (datetime(2026, 10, 25), 2, 1)],
    ids=["heure-d-ete", "heure-d-hiver"],
)
def test_changement_d_heure_les_creneaux_restent_a_l_heure_legale(dimanche, decalage_avant, decalage_apres):
    debut = (dimanche - timedelta(days=2)).replace(tzinfo=PARIS)  # vendredi
    fin = (dimanche + timedelta(days=2)).replace(tzinfo=PARIS)  # mardi
    plage = Plage(frozenset({0, 4, 6}), time(9), time(12))
    dispo = tuple(deplier_plages([plage], debut, fin))
    locales = [(i.debut.astimezone(PARIS), i.fin.astimezone(PARIS)) for i in dispo]
    assert [(a.hour, b.hour) for a, b in locales] == [(9, 12)] * 3
    assert [a.utcoffset() for a, _ in locales] == [
        timedelta(hours=decalage_avant),
        timedelta(hours=decalage_apres),
        timedelta(hours=decalage_apres),
    ]
    tous = debuts_complets(
        [Participant("a", "A", dispo)], duree=HEURE, debut=debut, fin=fin, pas=timedelta(hours=1)
    )
    locaux = [(t.astimezone(PARIS).date().day, t.astimezone(PARIS).hour) for t in tous]
    jours = [debut.day, dimanche.day, (dimanche + timedelta(days=1)).day]
    assert locaux == [(j, heure) for j in jours for heure in (9, 10, 11)]


def test_avec_un_vrai_calendrier_google_aucun_creneau_ne_chevauche_un_evenement():
    calendrier = icalendar.Calendar.from_ical(
        (ECHANTILLONS / "issue_173_only_modifications_error.ics").read_bytes()
    )
    debut, fin = datetime(2024, 6, 3, tzinfo=PARIS), datetime(2024, 6, 29, tzinfo=PARIS)
    occupations = []
    for evenement in recurring_ical_events.of(calendrier).between(debut, fin):
        a, b = evenement["DTSTART"].dt, evenement["DTEND"].dt
        if isinstance(a, datetime) and b > a:
            occupations.append(Intervalle(a, b))
    assert len(occupations) > 50
    dispo = tuple(deplier_plages([Plage(frozenset(range(7)), time(8), time(20))], debut, fin))
    personne = Participant(
        "p", "Calendrier réel", dispo, tuple(occupations), tampon_avant=QUART, tampon_apres=QUART
    )
    tous = debuts_complets([personne], duree=HEURE, debut=debut, fin=fin)
    assert tous
    for t in tous:
        elargi = Intervalle(t - QUART, t + HEURE + QUART)
        assert not any(elargi.chevauche(o) for o in occupations)
    resultat = chercher_creneaux([personne], duree=HEURE, debut=debut, fin=fin)
    assert resultat.complet and len(resultat.creneaux) == 10


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"duree": timedelta(0)}, "durée"),
        ({"pas": timedelta(0)}, "pas"),
        ({"fin": LUNDI}, "fin de la période"),
        ({"debut": datetime(2026, 6, 8)}, "fuseau"),
        ({"maintenant": datetime(2026, 6, 8)}, "fuseau"),
        ({"preavis": timedelta(hours=-1)}, "préavis"),
        ({"nombre": 0}, "nombre"),
    ],
)
def test_entree_invalide_refusee_en_francais(kw, message):
    with pytest.raises(ValidationError) as exc:
        chercher([pro("a", "A")], **kw)
    assert message in exc.value.messages[0]


def test_sans_participant_ou_en_double_refuse():
    with pytest.raises(ValidationError, match="au moins un participant"):
        chercher([])
    with pytest.raises(ValidationError, match="deux fois"):
        chercher([pro("a", "Dr A"), pro("a", "Dr A")])
    with pytest.raises(ValidationError, match="tampons"):
        chercher([pro("a", "Dr A", tampon_avant=-QUART)])


# --- Propriétés (hypothesis) ----------------------------------------------------------------------

# Horizon court qui traverse le passage à l'heure d'été. En UTC : en Python, ajouter une durée à
# un instant « Europe/Paris » se fait en heure légale, ce qui fausserait la référence.
ORIGINE = datetime(2026, 3, 27, 6, tzinfo=PARIS).astimezone(UTC)
HORIZON = timedelta(days=3)


def _intervalles(minimum=0, maximum=6):
    paire = st.tuples(st.integers(0, 72 * 4 - 1), st.integers(1, 24))
    return st.lists(paire, min_size=minimum, max_size=maximum).map(
        lambda xs: tuple(
            Intervalle(ORIGINE + QUART * a + timedelta(minutes=5 * (a % 3)), ORIGINE + QUART * (a + n))
            for a, n in xs
        )
    )


participants_aleatoires = st.lists(
    st.builds(
        Participant,
        cle=st.just(""),
        nom=st.just(""),
        disponibilites=_intervalles(1, 5),
        occupations=_intervalles(0, 8),
        requis=st.booleans(),
        tampon_avant=st.sampled_from([timedelta(0), QUART, timedelta(minutes=40)]),
        tampon_apres=st.sampled_from([timedelta(0), QUART, timedelta(minutes=20)]),
    ),
    min_size=1,
    max_size=4,
).map(
    lambda ps: [
        Participant(
            f"p{i}",
            f"Personne {i}",
            p.disponibilites,
            p.occupations,
            p.requis,
            p.tampon_avant,
            p.tampon_apres,
        )
        for i, p in enumerate(ps)
    ]
)

REGLAGES = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _libre(p: Participant, debut: datetime, duree: timedelta) -> bool:
    """Référence naïve : la rencontre tient dans une disponibilité (unies) et, élargie des
    tampons, ne touche aucune occupation."""
    debut = debut.astimezone(UTC)  # arithmétique en vraies heures
    rencontre = Intervalle(debut, debut + duree)
    elargie = Intervalle(debut - p.tampon_avant, debut + duree + p.tampon_apres)
    dedans = False
    union = sorted(p.disponibilites)
    fusion = []
    for d in union:
        if fusion and d.debut <= fusion[-1][1]:
            fusion[-1][1] = max(fusion[-1][1], d.fin)
        else:
            fusion.append([d.debut, d.fin])
    dedans = any(a <= rencontre.debut and rencontre.fin <= b for a, b in fusion)
    return dedans and not any(elargie.chevauche(o) for o in p.occupations)


def _force_brute(participants, duree, maintenant=None, preavis=timedelta(0)):
    borne = ORIGINE if maintenant is None else max(ORIGINE, maintenant.astimezone(UTC) + preavis)
    t, resultat = ORIGINE, []
    while t + duree <= ORIGINE + HORIZON:
        if t >= borne and all(_libre(p, t, duree) for p in participants if p.requis):
            resultat.append(t)
        t += QUART
    return resultat


@REGLAGES
@given(
    participants=participants_aleatoires,
    duree=st.sampled_from([QUART, timedelta(minutes=45), HEURE, timedelta(hours=2)]),
    avance=st.integers(0, 48 * 4),
)
def test_propriete_aucun_debut_manque_ni_faux(participants, duree, avance):
    # « maintenant » en heure de Paris : le préavis doit compter de vraies heures, même à travers
    # le changement d'heure.
    maintenant = (ORIGINE + QUART * avance + timedelta(minutes=7)).astimezone(PARIS)
    trouves = debuts_complets(
        participants,
        duree=duree,
        debut=ORIGINE,
        fin=ORIGINE + HORIZON,
        maintenant=maintenant,
        preavis=timedelta(hours=3),
    )
    assert trouves == _force_brute(participants, duree, maintenant, timedelta(hours=3))


@REGLAGES
@given(participants=participants_aleatoires, duree=st.sampled_from([QUART, HEURE]))
def test_propriete_creneaux_complets_libres_et_partiels_exacts(participants, duree):
    resultat = chercher_creneaux(participants, duree=duree, debut=ORIGINE, fin=ORIGINE + HORIZON, nombre=6)
    requis = [p for p in participants if p.requis]
    assert len(resultat.creneaux) <= 6
    for c in resultat.creneaux:
        # Soustraction en UTC : entre deux instants du même fuseau, Python compte en heure légale.
        assert c.fin.astimezone(UTC) - c.debut.astimezone(UTC) == duree
        assert ORIGINE <= c.debut and c.fin <= ORIGINE + HORIZON
        occupes = tuple(p.cle for p in requis if not _libre(p, c.debut, duree))
        facultatifs = tuple(p.cle for p in participants if not p.requis and not _libre(p, c.debut, duree))
        # (a) complet : chaque requis libre, tampons compris, dans ses disponibilités ;
        # (c) partiel : les absents nomment exactement les requis occupés, puis les facultatifs.
        assert c.absents == occupes + facultatifs
        if resultat.complet:
            assert occupes == ()
        else:
            assert occupes != ()
    if resultat.complet:
        assert resultat.creneaux
    elif resultat.creneaux:
        # Aucun début de la grille n'a plus de requis présents que le meilleur partiel.
        meilleur = len(requis) - sum(
            1 for c in resultat.creneaux[0].absents if c.startswith("p") and c in {p.cle for p in requis}
        )
        assert _force_brute(participants, duree) == []
        t = ORIGINE
        while t + duree <= ORIGINE + HORIZON:
            assert sum(_libre(p, t, duree) for p in requis) <= meilleur
            t += QUART


def test_scenario_de_banc_agenda_creneaux_sans_base(tmp_path):
    from bench import run

    ctx = run.Contexte(
        echelle="S",
        database_url="",
        dossier=tmp_path,
        options={"agenda_creneaux": {"executions": 3}},
    )
    chiffres = run.SCENARIOS["agenda_creneaux"](ctx)
    assert chiffres["executions"] == 3 and chiffres["participants"] == 8
    assert chiffres["occupations_par_execution"] == 1600
    assert 0 < chiffres["p50_ms"] <= chiffres["p95_ms"] <= chiffres["max_ms"]
    assert chiffres["satures"]["executions"] == 3


def test_libre_et_absents_pour_les_autres_modules():
    from agenda.creneaux import absents, departs_complets, libre

    martin = pro("m", "Dr Martin", [iv(h(8, 10), h(8, 11))], tampon_avant=QUART)
    facultatif = pro("f", "M. F", [iv(h(8, 9), h(8, 12))], requis=False, tampon_avant=QUART)
    # Occupation 10 h–11 h : élargie de tampon_apres (0) avant et de tampon_avant (15 min) après.
    assert [(i.debut, i.fin) for i in libre(martin)[:2]] == [
        (h(8, 9), h(8, 10)),
        (h(8, 11, 15), h(8, 18)),
    ]
    assert absents([martin, facultatif], h(8, 11), h(8, 12)) == ("m", "f")
    assert absents([martin, facultatif], h(8, 12), h(8, 13)) == ("f",)  # tampon_avant de F
    assert absents([martin, facultatif], h(8, 12, 15), h(8, 13)) == ()
    assert departs_complets is not None and departs_complets([martin], duree=HEURE, debut=h(8, 9),
        fin=h(8, 13))[:3] == [h(8, 9), h(8, 11, 15), h(8, 11, 30)]  # fmt: skip
    with pytest.raises(ValidationError, match="fuseau"):
        absents([martin], datetime(2026, 6, 8, 9), h(8, 10))
