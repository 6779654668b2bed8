"""Banc du flux iCalendar de l'agenda (issue 6, point 8 ; ADR 0023) : une année de rendez-vous
synthétiques (visites de 45 min à 1 h 30, un sur dix hebdomadaire avec EXDATE, un sur vingt
déplacé par RECURRENCE-ID, quelques journées entières), écrite par `agenda.ics.ecrire_calendrier`
puis relue par `lire_calendrier`. Aucun accès à la base."""

from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agenda.ics import EvenementIcs, ecrire_calendrier, lire_calendrier, occupations

PARIS = ZoneInfo("Europe/Paris")
LIEUX = ("Domicile", "Cabinet infirmier", "Accueil de jour", "Hôpital de jour, 2e étage")
TITRES = ("Visite à domicile", "Soins infirmiers", "Kinésithérapie", "Réunion de coordination", "Repas")


def evenements_annee(nombre: int, *, annee: int = 2026, graine: int = 6) -> list[EvenementIcs]:
    hasard = random.Random(graine)
    depart = datetime(annee, 1, 1, tzinfo=PARIS)
    resultat: list[EvenementIcs] = []
    for i in range(nombre):
        jour = depart + timedelta(days=hasard.randrange(365))
        debut = jour.replace(hour=hasard.randrange(7, 19), minute=hasard.choice((0, 15, 30, 45)))
        fin = debut + timedelta(minutes=hasard.choice((45, 60, 90)))
        uid = f"rdv-{i}@portail.example"
        commun = {"uid": uid, "titre": f"{hasard.choice(TITRES)} n° {i}", "lieu": hasard.choice(LIEUX)}
        if i % 50 == 0:
            resultat.append(
                EvenementIcs(
                    **commun,
                    debut=jour.replace(hour=0),
                    fin=jour.replace(hour=0) + timedelta(days=1),
                    journee_entiere=True,
                )  # fmt: skip
            )
        elif i % 10 == 0:
            resultat.append(
                EvenementIcs(
                    **commun,
                    debut=debut,
                    fin=fin,
                    rrule="FREQ=WEEKLY;COUNT=20",
                    exdates=(debut + timedelta(weeks=2),),
                    sequence=1,
                    description="Passage hebdomadaire.\nPrévenir la famille en cas d'absence.",
                )  # fmt: skip
            )
            if i % 20 == 0:
                rid = debut + timedelta(weeks=3)
                resultat.append(
                    EvenementIcs(
                        **commun,
                        debut=rid + timedelta(hours=2),
                        fin=fin + timedelta(weeks=3, hours=2),
                        recurrence_id=rid,
                        sequence=2,
                    )  # fmt: skip
                )
        else:
            resultat.append(
                EvenementIcs(
                    **commun,
                    debut=debut,
                    fin=fin,
                    participants=(("mailto:pro@example.org", "Professionnel", "ACCEPTED"),),
                )  # fmt: skip
            )
    return resultat[:nombre]


def mesurer_flux(nombre: int = 1000, repetitions: int = 20) -> dict:
    evenements = evenements_annee(nombre)
    ecrire_calendrier(evenements[:1], nom="chauffe")  # VTIMEZONE en cache, comme en service
    durees = []
    for _ in range(repetitions):
        debut = time.perf_counter()
        flux = ecrire_calendrier(evenements, nom="Agenda du banc")
        durees.append(time.perf_counter() - debut)
    debut = time.perf_counter()
    relu = lire_calendrier(flux)
    lecture = time.perf_counter() - debut
    debut = time.perf_counter()
    occupe = occupations(relu, datetime(2026, 1, 1, tzinfo=PARIS), datetime(2027, 1, 1, tzinfo=PARIS))
    calcul = time.perf_counter() - debut
    durees.sort()
    return {
        "evenements": len(evenements),
        "octets": len(flux),
        "ecriture_ms_p50": round(statistics.median(durees) * 1000, 1),
        "ecriture_ms_max": round(durees[-1] * 1000, 1),
        "lecture_ms": round(lecture * 1000, 1),
        "occupations_annee_ms": round(calcul * 1000, 1),
        "intervalles_occupes": len(occupe),
        "objectif_ecriture_ms": 50,
    }
