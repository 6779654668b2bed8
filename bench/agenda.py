"""Agendas synthétiques et mesures de l'agenda (scénario `agenda`).

Génération, à la suite de `bench/generer.py` (personnes) et `bench/cercle.py` (cercles), par COPY
et par lots d'usagers (reprise au premier usager sans événement) : ~50 événements par usager sur
deux ans (l'an passé et l'an qui vient), 5 millions à l'échelle M ; 90 % de rendez-vous simples,
10 % de séries hebdomadaires (10 à 40 séances), 1 à 3 professionnels du cercle conviés, un proche
une fois sur cinq ; statuts et réponses mêlés.

Mesures : la vue du mois d'un usager (`selectors.agenda_de_l_usager`, droits recalculés à chaque
fois) et la vue de la semaine d'un professionnel (`selectors.agenda_du_professionnel`) sur des
paires réelles ; le flux ICS d'un an (lecture des séries et écriture du VCALENDAR). Le moteur
de créneaux seul : `bench/agenda_creneaux.py`."""

from __future__ import annotations

import datetime
import random
import sys
import time
import uuid
from collections import defaultdict

from django.db import connection, transaction

from agenda.models import Evenement, Participant
from bench.generer import _copier, _premier_id

DEBUT = datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC)  # un lundi
JOURS = 730
TITRES = ("Soins infirmiers à domicile", "Séance de kinésithérapie", "Consultation du médecin traitant",
          "Atelier mémoire", "Aide à la toilette", "Rendez-vous chez le cardiologue",
          "Visite de l'éducatrice", "Bilan orthophonique", "Réunion de synthèse", "Portage des repas",
          "Accueil de jour")  # fmt: skip


def _lire(requete: str, parametres: list | None = None) -> list[tuple]:
    with connection.cursor() as curseur:
        curseur.execute(requete, parametres or [])
        return curseur.fetchall()


def _usagers_a_remplir() -> list[int]:
    return [
        u
        for (u,) in _lire(
            "SELECT u.id FROM personnes_usager u WHERE EXISTS (SELECT 1 FROM cercle_cercle c "
            "WHERE c.usager_id = u.id) AND u.id > COALESCE((SELECT max(usager_id) FROM agenda_evenement), 0) "
            "ORDER BY u.id"
        )
    ]


def _cercles() -> tuple[dict, dict, dict]:
    pros: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    proches: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for usager, exercice, professionnel, nom, proche, nom_proche in _lire(
        "SELECT c.usager_id, m.exercice_id, e.professionnel_id, "
        "p.prenom_exercice || ' ' || p.nom_exercice, m.proche_id, pr.prenoms || ' ' || pr.nom "
        "FROM cercle_membre m JOIN cercle_cercle c ON c.id = m.cercle_id "
        "LEFT JOIN personnes_exercice e ON e.id = m.exercice_id "
        "LEFT JOIN personnes_professionnel p ON p.id = e.professionnel_id "
        "LEFT JOIN personnes_proche pr ON pr.id = m.proche_id WHERE m.statut = 'active'"
    ):
        if exercice is not None:
            pros[usager].append((exercice, professionnel, nom))
        elif proche is not None:
            proches[usager].append((proche, nom_proche))
    return pros, proches, {}


def generer_evenements(par_usager: float = 50, graine: int = 11, usagers_par_lot: int = 2000) -> dict:
    """Écrit les agendas des usagers qui ont un cercle et pas encore d'événement."""
    usagers = _usagers_a_remplir()
    if not usagers:
        return {}
    debut = time.perf_counter()
    pros, proches, _ = _cercles()
    totaux = {"agenda_evenement": 0, "agenda_participant": 0}
    premier_evt, premier_part = _premier_id(Evenement), _premier_id(Participant)
    for lot in range(0, len(usagers), usagers_par_lot):
        evenements, participants = [], []
        for usager in usagers[lot : lot + usagers_par_lot]:
            alea = random.Random(graine * 1_000_003 + usager)
            nombre = max(1, int(par_usager * alea.uniform(0.5, 1.5)))
            for _ in range(nombre):
                depart = DEBUT + datetime.timedelta(days=alea.randrange(JOURS), hours=alea.randint(7, 18))
                depart = depart.replace(minute=alea.choice((0, 15, 30, 45)))
                fin = depart + datetime.timedelta(minutes=alea.choice((30, 45, 60, 90)))
                serie = alea.random() < 0.10
                seances = alea.randint(10, 40) if serie else 1
                evenements.append(
                    {
                        "id": premier_evt, "uuid": uuid.uuid4(), "titre": alea.choice(TITRES),
                        "usager_id": usager,
                        "debut": depart, "fin": fin, "fuseau": "Europe/Paris",
                        "statut": alea.choices(("booked", "cancelled", "pending"), (90, 7, 3))[0],
                        "lieux": [{"libelle": "", "adresse": "Domicile", "visio": ""}],
                        "rrule": f"FREQ=WEEKLY;COUNT={seances}" if serie else "",
                        "fin_serie": fin + datetime.timedelta(weeks=seances - 1),
                        "systeme_source": "bench", "cree_par": "bench", "cree_par_nom": "Banc",
                    }
                )  # fmt: skip
                convies = alea.sample(
                    pros.get(usager, []), k=min(len(pros.get(usager, [])), alea.randint(1, 3))
                )
                for exercice, professionnel, nom in convies:
                    participants.append(
                        {
                            "id": premier_part, "evenement_id": premier_evt, "type": "professionnel",
                            "professionnel_id": professionnel, "exercice_id": exercice, "nom": nom[:200],
                            "statut": alea.choices(("accepted", "needs-action", "declined"), (85, 10, 5))[0],
                        }
                    )  # fmt: skip
                    premier_part += 1
                if proches.get(usager) and alea.random() < 0.2:
                    proche, nom = alea.choice(proches[usager])
                    participants.append(
                        {"id": premier_part, "evenement_id": premier_evt, "type": "proche",
                         "proche_id": proche, "nom": nom[:200], "statut": "accepted"}
                    )  # fmt: skip
                    premier_part += 1
                premier_evt += 1
        with transaction.atomic():
            totaux["agenda_evenement"] += _copier(Evenement, iter(evenements))
            totaux["agenda_participant"] += _copier(Participant, iter(participants))
        ecoule = time.perf_counter() - debut
        print(
            f"[agenda] {totaux['agenda_evenement']} événements en {ecoule:.0f} s", file=sys.stderr, flush=True
        )
    duree = time.perf_counter() - debut
    with connection.cursor() as curseur:
        curseur.execute("ANALYZE agenda_evenement, agenda_participant")
    return {
        **totaux,
        "generation_s": round(duree, 1),
        "evenements_par_s": round(totaux["agenda_evenement"] / duree),
    }


def paires_lecteurs(nombre: int, graine: int = 12) -> list[tuple[int, int]]:
    """(situation d'exercice, usager) dont le professionnel lit l'agenda, au hasard."""
    return _lire(
        "SELECT m.exercice_id, c.usager_id FROM cercle_membre m JOIN cercle_cercle c ON c.id = m.cercle_id "
        "JOIN cercle_habilitation h ON h.membre_id = m.id AND h.domaine = 'agenda' AND h.niveau >= 1 "
        "AND h.revoquee_le IS NULL WHERE m.statut = 'active' AND m.exercice_id IS NOT NULL "
        "ORDER BY md5(m.id::text || %s) LIMIT %s",
        [str(graine), nombre],
    )


def _acteur(exercice):
    from coordination.comptes.acteur import Acteur, TypeActeur

    return Acteur(TypeActeur.PROFESSIONNEL, None, exercice=exercice)


def _mois(alea: random.Random) -> tuple[datetime.datetime, datetime.datetime]:
    from zoneinfo import ZoneInfo

    mois = alea.randint(1, 12)
    paris = ZoneInfo("Europe/Paris")
    debut = datetime.datetime(2026, mois, 1, tzinfo=paris)
    fin = datetime.datetime(2026 + mois // 12, mois % 12 + 1, 1, tzinfo=paris)
    return debut, fin


def mesurer_mois_usager(paires: list[tuple[int, int]]) -> tuple[list[float], int, float]:
    from agenda import selectors
    from bench.run import CompteurDeRequetes
    from coordination.personnes.models import Exercice, Usager

    exercices = Exercice.objects.in_bulk([e for e, _ in paires])
    usagers = Usager.objects.in_bulk([u for _, u in paires])
    alea = random.Random(13)
    durees, requetes_max, vus = [], 0, 0
    for exercice_id, usager_id in paires:
        debut, fin = _mois(alea)
        with CompteurDeRequetes() as requetes:
            t0 = time.perf_counter()
            occurrences = selectors.agenda_de_l_usager(
                _acteur(exercices[exercice_id]), usagers[usager_id], debut, fin
            )
            durees.append(time.perf_counter() - t0)
        vus += len(occurrences)
        requetes_max = max(requetes_max, len(requetes))
    return durees, requetes_max, vus / max(1, len(paires))


def mesurer_semaine_pro(paires: list[tuple[int, int]]) -> tuple[list[float], int, float]:
    from agenda import selectors
    from bench.run import CompteurDeRequetes
    from coordination.personnes.models import Exercice

    exercices = Exercice.objects.in_bulk([e for e, _ in paires])
    alea = random.Random(14)
    durees, requetes_max, vus = [], 0, 0
    for exercice_id, _ in paires:
        debut = DEBUT + datetime.timedelta(weeks=alea.randint(0, 100))
        with CompteurDeRequetes() as requetes:
            t0 = time.perf_counter()
            occurrences = selectors.agenda_du_professionnel(
                _acteur(exercices[exercice_id]), debut, debut + datetime.timedelta(days=7)
            )
            durees.append(time.perf_counter() - t0)
        vus += len(occurrences)
        requetes_max = max(requetes_max, len(requetes))
    return durees, requetes_max, vus / max(1, len(paires))


def mesurer_flux_ics(paires: list[tuple[int, int]]) -> tuple[list[float], float]:
    """Le flux ICS d'un an d'un usager (lecture des séries + VCALENDAR)."""
    from zoneinfo import ZoneInfo

    from agenda import ics, selectors
    from coordination.personnes.models import Usager

    usagers = Usager.objects.in_bulk([u for _, u in paires])
    paris = ZoneInfo("Europe/Paris")
    debut, fin = datetime.datetime(2026, 1, 1, tzinfo=paris), datetime.datetime(2027, 1, 1, tzinfo=paris)
    durees, tailles = [], 0
    for _, usager_id in paires:
        t0 = time.perf_counter()
        evenements = selectors.evenements_de_l_usager_sur(usagers[usager_id], debut, fin)
        corps = ics.ecrire_calendrier(ics.evenements_ics(evenements), nom="Agenda")
        durees.append(time.perf_counter() - t0)
        tailles += corps.count(b"BEGIN:VEVENT")
    return durees, tailles / max(1, len(paires))
