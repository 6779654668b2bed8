"""Annuaire synthétique pour le banc de recherche : N professionnels aux noms réalistes (noms de
famille composés de syllabes, fréquences en loi de Zipf comme les vrais patronymes : le plus courant
porte ~0,5 % des personnes), puis des recherches types mesurées une à une."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

from django.db import connection

from bench.generer import PROFESSIONS, _copier, _premier_id, rpps_fictif
from coordination.personnes.models import Professionnel
from coordination.personnes.selectors import rechercher_professionnels

DEBUTS = (
    "MAR BER DU LE ROB RI PE DUR MO LAU GAR FOUR GI BON CHA MER BLAN GUER FAU BRU ROU VIN MI BOU GAU".split()
)
MILIEUX = ["", ""] + "TI NA CHE RE LI VA BO DE GO SE LO RA".split()
FINS = "TIN NARD BOIS ROY TIT RAND REAU RENT CIA NIER RARD NET CHARD CIER VRE LIER RIN GER LAND NEAU".split()
PRENOMS = (
    "Marie Jean Pierre Sophie Nathalie Isabelle Philippe Catherine Michel Anne Christophe Sandrine Laurent "
    "Julie Céline Nicolas Éric Hélène Thomas Camille Chloé Lucas Léa Hugo Inès Zoé Noël Loïc Anaïs Théo"
).split()


def noms_de_famille() -> list[str]:
    noms = sorted({d + m + f for d in DEBUTS for m in MILIEUX for f in FINS})
    random.Random(7).shuffle(noms)
    return noms  # ~9 000 noms distincts


def _professionnels(debut: int, nombre: int, alea: random.Random, noms: list[str]) -> Iterator[dict]:
    poids = [1 / (rang + 50) for rang in range(len(noms))]  # Zipf adouci : le plus courant ~0,4 %
    tirages = alea.choices(noms, weights=poids, k=nombre)
    for rang, i in enumerate(range(debut, debut + nombre)):
        code, libelle = PROFESSIONS[i % len(PROFESSIONS)]
        yield {
            "id": i,
            "idnat_ps": "8" + rpps_fictif(i),
            "nom_exercice": tirages[rang],
            "prenom_exercice": PRENOMS[alea.randrange(len(PRENOMS))],
            "profession_code": code,
            "profession_libelle": libelle,
            "categorie_professionnelle": "C",
        }


def generer_annuaire(nombre: int, graine: int = 5) -> dict:
    """Ajoute `nombre` professionnels (index de recherche retiré pendant le COPY puis reconstruit, comme
    au chargement initial de l'import) ; renvoie les durées du COPY et de la construction de l'index."""
    with connection.cursor() as curseur:
        curseur.execute("SELECT pg_get_indexdef('professionnel_recherche_trgm'::regclass)")
        definition = curseur.fetchone()[0]
        curseur.execute("DROP INDEX professionnel_recherche_trgm")
    debut = time.perf_counter()
    lignes = _copier(Professionnel, _professionnels(_premier_id(Professionnel), nombre, random.Random(graine),
                                                    noms_de_famille()))  # fmt: skip
    copie_s = time.perf_counter() - debut
    debut = time.perf_counter()
    with connection.cursor() as curseur:
        curseur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # contrôles différés en attente (dans un test)
        curseur.execute("SET maintenance_work_mem TO '256MB'")
        curseur.execute(definition)
        curseur.execute("ANALYZE personnes_professionnel")
    return {
        "lignes": lignes,
        "copie_s": round(copie_s, 2),
        "index_trigramme_s": round(time.perf_counter() - debut, 2),
    }


def requetes_types(nombre_par_sorte: int, graine: int = 11) -> dict[str, list[str]]:
    """Recherches types : nom courant entier, nom + prénom, début de nom (4 lettres), faute de frappe,
    RPPS. Tirées parmi les professionnels présents."""
    alea = random.Random(graine)
    with connection.cursor() as curseur:
        curseur.execute("SELECT count(*) FROM personnes_professionnel")
        pas = max(1, curseur.fetchone()[0] // (nombre_par_sorte * 10))
        curseur.execute(
            "SELECT nom_exercice, prenom_exercice, idnat_ps FROM personnes_professionnel "
            "WHERE id %% %s = 0 AND idnat_ps IS NOT NULL AND length(nom_exercice) > 3 LIMIT %s",
            [pas, nombre_par_sorte * 10],
        )
        echantillon = curseur.fetchall()
        curseur.execute(
            "SELECT nom_exercice FROM personnes_professionnel GROUP BY nom_exercice "
            "ORDER BY count(*) DESC LIMIT %s",
            [nombre_par_sorte],
        )
        courants = [nom for (nom,) in curseur.fetchall()]
    tires = alea.sample(echantillon, min(len(echantillon), nombre_par_sorte))

    def faute(nom: str) -> str:
        position = alea.randrange(1, len(nom) - 1)
        return nom[:position] + nom[position + 1] + nom[position] + nom[position + 2 :]

    return {
        "nom_courant": courants,
        "nom_prenom": [f"{nom} {prenom}" for nom, prenom, _ in tires],
        "debut_de_nom": [nom[:4] for nom, _, _ in tires],
        "faute_de_frappe": [f"{faute(nom)} {prenom}" for nom, prenom, _ in tires],
        "rpps": [idnat[1:] for _, _, idnat in tires],
    }


def mesurer(requetes: dict[str, list[str]]) -> dict[str, list[float]]:
    durees: dict[str, list[float]] = {}
    for sorte, textes in requetes.items():
        for texte in textes:
            debut = time.perf_counter()
            rechercher_professionnels(texte)
            durees.setdefault(sorte, []).append(time.perf_counter() - debut)
    return durees
