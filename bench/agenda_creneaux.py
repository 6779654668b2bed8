"""Banc du moteur de créneaux (issue 6, point 8) : 8 participants, 4 semaines, pas de 15 min,
200 occupations chacun (rendez-vous de 15 min à 1 h tirés dans les heures d'ouverture, qui
peuvent se chevaucher ; avec `durees=(30, 45, 60, 120)`, agendas saturés : aucun créneau commun,
chemin des créneaux partiels), tampons
variés, un usager avec préférences, deux participants facultatifs. Module pur : pas de base."""

from __future__ import annotations

import random
import statistics
import time as horloge
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from agenda.creneaux import Participant, chercher_creneaux
from agenda.disponibilites import Plage, deplier_plages
from agenda.intervalles import Intervalle

PARIS = ZoneInfo("Europe/Paris")


def monde(
    graine: int,
    *,
    participants: int = 8,
    occupations: int = 200,
    semaines: int = 4,
    durees: tuple[int, ...] = (15, 30, 45, 60),
):
    """Un jeu de participants tiré au hasard (reproductible par `graine`)."""
    hasard = random.Random(graine)
    debut = datetime(2026, 3, 16, tzinfo=PARIS)  # traverse le passage à l'heure d'été
    fin = debut + timedelta(weeks=semaines)
    ouvert = tuple(
        deplier_plages(
            [
                Plage(frozenset({0, 1, 2, 3, 4}), time(8), time(12, 30)),
                Plage(frozenset({0, 1, 2, 3, 4}), time(13, 30), time(20)),
                Plage(frozenset({5}), time(9), time(12)),
            ],
            debut,
            fin,
        )
    )
    personnes = []
    for i in range(participants):
        busy = []
        for _ in range(occupations):
            jour = hasard.choice(ouvert)
            quarts = int(jour.duree.total_seconds() // 900)
            depart = jour.debut + timedelta(minutes=15 * hasard.randrange(quarts))
            busy.append((depart, depart + timedelta(minutes=hasard.choice(durees))))
        personnes.append(
            Participant(
                cle=f"exercice:{i}",
                nom=f"Participant {i}",
                disponibilites=ouvert,
                occupations=tuple(Intervalle(a, b) for a, b in busy),
                requis=i < participants - 2,
                tampon_avant=timedelta(minutes=hasard.choice((0, 15, 30))),
                tampon_apres=timedelta(minutes=hasard.choice((0, 15))),
                preferences=(
                    tuple(Intervalle(j.debut, j.debut + timedelta(hours=3)) for j in ouvert) if i == 0 else ()
                ),
            )
        )
    return personnes, debut, fin


def mesurer(executions: int = 200, **kw) -> dict:
    """p50, p95 et max (ms) de `chercher_creneaux` sur `executions` mondes tirés au hasard."""
    durees, complets, occupations = [], 0, 0
    for graine in range(executions):
        personnes, debut, fin = monde(graine, **kw)
        occupations = sum(len(p.occupations) for p in personnes)
        depart = horloge.perf_counter()
        resultat = chercher_creneaux(personnes, duree=timedelta(hours=1), debut=debut, fin=fin)
        durees.append((horloge.perf_counter() - depart) * 1000)
        complets += resultat.complet
    durees.sort()
    return {
        "executions": executions,
        "participants": len(personnes),
        "occupations_par_execution": occupations,
        "resultats_complets": complets,
        "p50_ms": round(statistics.median(durees), 2),
        "p95_ms": round(durees[int(0.95 * (len(durees) - 1))], 2),
        "max_ms": round(durees[-1], 2),
    }
