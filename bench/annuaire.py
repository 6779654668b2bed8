"""Fichier PS_LibreAcces_Personne_activite synthétique pour le scénario d'import.

Même format que l'extraction officielle (en-tête exact, 52 colonnes séparées par « | » et
un « | » final, UTF-8). Valeurs fictives, clés valides : RPPS commençant par 99, ADELI de
départements 97 et moins, FINESS de départements 90 et plus (pour ne pas croiser ceux de
bench/generer.py), tous avec leur clé de Luhn. Écrit en flux : la mémoire ne dépend pas du
nombre de lignes.

    python -m bench.annuaire FICHIER NB_LIGNES
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from coordination.personnes.annuaire import ENTETE
from coordination.personnes.identifiants import avec_cle_luhn

PROFESSIONS = (
    ("10", "Médecin"),
    ("26", "Audioprothésiste"),
    ("28", "Opticien-Lunetier"),
    ("71", "Ostéopathe"),
    ("86", "Technicien de laboratoire médical"),
    ("92", "Orthoptiste"),
    ("93", "Psychologue"),
    ("94", "Ergothérapeute"),
    ("95", "Diététicien"),
    ("96", "Psychomotricien"),
    ("98", "Manipulateur ERM"),
)
SECTEURS = (
    ("SA01", "Etablissement Public de santé"),
    ("SA04", "Etab. Privé Non PSPH"),
    ("SA16", "Etab. pour Handicapés"),
    ("SA25", "Laboratoire de biologie médicale (LBM)"),
)
NOMS = (
    "MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY", "MOREAU",
    "SIMON", "LAURENT", "LEFEBVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX", "VINCENT", "FOURNIER",
)  # fmt: skip
PRENOMS = ("Camille", "Dominique", "Claude", "Alix", "Sacha", "Maxime", "Morgan", "Charlie", "Lou", "Noa")
VOIES = (("R", "Rue"), ("AV", "Avenue"), ("BD", "Boulevard"), ("CHE", "Chemin"), ("RTE", "Route"))
CATEGORIES_STRUCTURE = ("MAS", "FAM", "IME", "SESSAD", "SSIAD", "EHPAD", "CH", "CLINIQUE")

# Professionnels : 1 à 3 lignes (moyenne 1,5) ; 12 % des lignes sans structure ;
# une structure pour 10 lignes, dont 70 % avec FINESS et 30 % repérées par identifiant technique.
LIGNES_PAR_STRUCTURE = 10
PART_SANS_STRUCTURE = 0.12
PART_FINESS = 0.7


def rpps(k: int) -> str:
    return avec_cle_luhn(f"99{50_000_000 + k:08d}")


def adeli(k: int) -> str:
    return avec_cle_luhn(f"{97 - k // 1_000_000:02d}{k % 1_000_000:06d}")  # unique pour k < 97 millions


def finess(s: int) -> str:
    return avec_cle_luhn(f"{90 + s // 1_000_000}{s % 1_000_000:06d}")


def _champs_structure(s: int) -> list[str]:
    """Colonnes 19 à 46 (SIRET site … ancien identifiant) de la structure n° s, toujours identiques."""
    c = [""] * 28
    avec_finess = (s * 7919) % 10 < PART_FINESS * 10
    siret = f"{90000000000000 + s * 10:014d}"
    numero_commune = f"{1 + s % 99:02d}{s % 1000:03d}"
    code_postal = f"{1 + s % 95:02d}{(s * 10) % 1000:03d}"
    ville = f"VILLEFICTIVE {s % 500}"
    type_voie = VOIES[s % len(VOIES)]
    c[0] = siret
    if avec_finess:
        numero = finess(s)
        c[2] = numero
        c[3] = finess(s + 500_000)
        c[4] = "F" + numero
        c[5] = f"{CATEGORIES_STRUCTURE[s % len(CATEGORIES_STRUCTURE)]} FICTIF N°{s}"
        c[13] = numero_commune[:5]
        c[17] = numero_commune
        c[18] = f"Villefictive-{s % 500}"
        c[27] = "1" + numero
    else:
        c[4] = f"C9{s:011d}"
        c[5] = f"CABINET FICTIF N°{s}"
        c[6] = c[5]
        c[27] = "3" + siret
    c[9] = str(1 + s % 120)
    c[11] = type_voie[0]
    c[12] = type_voie[1]
    c[13] = f"DES ESSAIS {s % 300}"
    c[15] = f"{code_postal} {ville}"
    c[16] = code_postal
    c[21] = f"04{s % 100_000_000:08d}"
    return c


def ecrire_fichier(chemin: str | Path, nb_lignes: int, graine: int = 42) -> dict:
    """Écrit `nb_lignes` lignes de données après l'en-tête ; renvoie les nombres attendus."""
    alea = random.Random(graine)
    nb_structures = max(1, nb_lignes // LIGNES_PAR_STRUCTURE)
    cache_structures: dict[int, str] = {}
    professionnels = 0
    structures_vues: set[int] = set()
    ecrites = 0
    with open(chemin, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as fichier:
        fichier.write(ENTETE + "\n")
        k = 0
        while ecrites < nb_lignes:
            k += 1
            professionnels += 1
            if k % 5 == 0:
                type_id, ident = "0", adeli(k)
            else:
                type_id, ident = "8", rpps(k)
            code_profession, profession = PROFESSIONS[k % len(PROFESSIONS)]
            medecin = code_profession == "10"
            debut = [
                type_id, ident, type_id + ident, "DR" if medecin else "", "Docteur" if medecin else "",
                "MME" if k % 2 else "M", "Madame" if k % 2 else "Monsieur",
                NOMS[k % len(NOMS)] + f"-{k % 9973}", PRENOMS[k % len(PRENOMS)], code_profession, profession,
                "C", "Civil", "", "", "", "",
            ]  # fmt: skip
            for _ in range(min(alea.choice((1, 1, 1, 1, 1, 1, 2, 2, 2, 3)), nb_lignes - ecrites)):
                if alea.random() < PART_SANS_STRUCTURE:
                    mode = alea.choice(("S", "L", ""))
                    champs = [*debut, mode, {"S": "Salarié", "L": "Libéral", "": ""}[mode], *[""] * 28,
                              "ARS//", "", "", "", ""]  # fmt: skip
                    ligne = "|".join(champs)
                else:
                    s = alea.randrange(nb_structures)
                    structures_vues.add(s)
                    partie = cache_structures.get(s)
                    if partie is None:
                        partie = "|".join(_champs_structure(s))
                        if len(cache_structures) < 200_000:
                            cache_structures[s] = partie
                    secteur = SECTEURS[s % len(SECTEURS)]
                    liberal = partie.split("|", 5)[4].startswith("C")
                    mode = "L" if liberal else "S"
                    ligne = "|".join(
                        [
                            *debut,
                            mode,
                            "Libéral" if liberal else "Salarié",
                            partie,
                            "ARS/ARS/ARS",
                            *secteur,
                            "",
                            "",
                        ]
                    )
                fichier.write(ligne + "|\n")
                ecrites += 1
    return {"lignes": ecrites, "professionnels": professionnels, "structures": len(structures_vues)}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage : python -m bench.annuaire FICHIER NB_LIGNES", file=sys.stderr)
        sys.exit(2)
    print(ecrire_fichier(sys.argv[1], int(sys.argv[2])))
