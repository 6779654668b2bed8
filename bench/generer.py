"""Données synthétiques pour les bancs d'essai, écrites par COPY (psycopg 3).

Toutes les valeurs sont fictives mais leurs clés sont valides : matricules INS de test
(OID 1.2.250.1.213.1.4.10, clé NIR juste, premier chiffre conforme au sexe), RPPS commençant
par 99 avec clé de Luhn, FINESS avec clé de Luhn. Les identifiants techniques (`id`) sont
réservés à la suite des lignes existantes, les séquences recalées ensuite : on peut générer
plusieurs fois dans la même base.

Échelles : S (CI) ~1 000 usagers, 500 professionnels, 50 structures ; M 100 000 / 25 000 / 2 000 ;
L 1 000 000 / 250 000 / 20 000.

Chaque table est remplie par un seul COPY dans sa transaction. Les colonnes viennent des modèles
Django : un champ que le générateur ne connaît pas reçoit sa valeur par défaut (uuid, horodatage,
chaîne vide…), pour que le banc suive l'évolution des modèles.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.contrib.postgres.fields import ArrayField
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from coordination.personnes.identifiants import OID_INS_TEST, avec_cle_luhn, avec_cle_nir
from coordination.personnes.models import (
    Exercice,
    LienProche,
    MesureProtection,
    ModeExercice,
    ModeRecueil,
    Proche,
    Professionnel,
    Sexe,
    StatutIdentite,
    Structure,
    Usager,
    normaliser_trait,
)


@dataclass(frozen=True)
class Echelle:
    usagers: int
    professionnels: int
    structures: int
    proches_par_usager: float = 0.8
    exercices_par_professionnel: float = 1.3


ECHELLES = {
    "S": Echelle(usagers=1_000, professionnels=500, structures=50),
    "M": Echelle(usagers=100_000, professionnels=25_000, structures=2_000),
    "L": Echelle(usagers=1_000_000, professionnels=250_000, structures=20_000),
}

NOMS = ("MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY", "MOREAU",
        "SIMON", "LAURENT", "LEFÈVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX", "VINCENT",
        "FOURNIER", "D'ORNANO", "LE GALL", "N'DIAYE", "SAINT-ANDRÉ")  # fmt: skip
PRENOMS_F = ("Jeanne", "Marie", "Louise", "Hélène", "Chloé", "Inès", "Zoé", "Anaïs", "Éloïse", "Camille")
PRENOMS_M = ("Pierre", "Jean", "Louis", "Éric", "Noël", "Hugo", "Théo", "Mathéo", "Loïc", "Camille")
CATEGORIES = (
    ("500", "Établissement d'hébergement pour personnes âgées dépendantes (EHPAD)"),
    ("354", "Service de soins infirmiers à domicile (SSIAD)"),
    ("183", "Institut médico-éducatif (IME)"),
    ("182", "Service d'éducation spéciale et de soins à domicile (SESSAD)"),
    ("255", "Maison d'accueil spécialisée (MAS)"),
    ("437", "Foyer d'accueil médicalisé (FAM)"),
)
PROFESSIONS = (
    ("10", "Médecin"),
    ("60", "Infirmier"),
    ("70", "Masseur-kinésithérapeute"),
    ("93", "Psychologue"),
    ("94", "Ergothérapeute"),
    ("96", "Psychomotricien"),
)
VILLES = (
    ("01053", "01000", "Bourg-en-Bresse"), ("69123", "69001", "Lyon"), ("75056", "75011", "Paris"),
    ("13055", "13001", "Marseille"), ("33063", "33000", "Bordeaux"), ("59350", "59000", "Lille"),
)  # fmt: skip
DEPARTEMENTS_NAISSANCE = tuple(f"{d:02d}" for d in range(1, 20))


def rpps_fictif(n: int) -> str:
    return avec_cle_luhn(f"99{n:08d}")


def finess_fictif(n: int, departement: str = "99") -> str:
    return avec_cle_luhn(f"{departement}{n % 1_000_000:06d}")


def matricule_ins_fictif(n: int, sexe: str, naissance: datetime.date) -> tuple[str, str]:
    """(matricule NIR de test avec sa clé, code du lieu de naissance) : unique pour n < 19 millions."""
    departement = DEPARTEMENTS_NAISSANCE[(n // 1_000_000) % len(DEPARTEMENTS_NAISSANCE)]
    commune, ordre = divmod(n % 1_000_000, 1000)
    lieu = f"{departement}{commune:03d}"
    premier = "1" if sexe == Sexe.MASCULIN else "2"
    corps = f"{premier}{naissance.year % 100:02d}{naissance.month:02d}{lieu}{ordre:03d}"
    return avec_cle_nir(corps), lieu


# --- COPY générique d'après les champs du modèle ------------------------------------------------


def _colonnes(modele: type[models.Model]) -> list[models.Field]:
    """Colonnes à écrire : toutes, sauf les colonnes générées (calculées par PostgreSQL, pas de COPY)."""
    return [champ for champ in modele._meta.concrete_fields if not isinstance(champ, models.GeneratedField)]


def _copier(modele: type[models.Model], lignes: Iterator[dict]) -> int:
    """COPY des lignes (dictionnaires nom de champ → valeur) ; complète avec les valeurs par défaut."""
    champs = _colonnes(modele)
    maintenant = timezone.now()
    valeurs_fixes: dict[str, object] = {}
    defauts_appelables: dict[str, Callable] = {}
    for champ in champs:
        if getattr(champ, "auto_now", False) or getattr(champ, "auto_now_add", False):
            valeurs_fixes[champ.attname] = maintenant
        elif champ.has_default() and callable(champ.default):
            defauts_appelables[champ.attname] = champ.default
        else:
            valeurs_fixes[champ.attname] = champ.get_default()
    noms = [champ.attname for champ in champs]
    tableaux = {champ.attname for champ in champs if isinstance(champ, ArrayField)}  # pas du JSON
    colonnes = ", ".join(connection.ops.quote_name(champ.column) for champ in champs)
    table = connection.ops.quote_name(modele._meta.db_table)
    nombre = 0
    with transaction.atomic(), connection.cursor() as curseur:
        with curseur.cursor.copy(f"COPY {table} ({colonnes}) FROM STDIN") as copie:
            for ligne in lignes:
                rangee = []
                for nom in noms:
                    if nom in ligne:
                        valeur = ligne[nom]
                    elif nom in defauts_appelables:
                        valeur = defauts_appelables[nom]()
                    else:
                        valeur = valeurs_fixes[nom]
                    if isinstance(valeur, dict | list) and nom not in tableaux:
                        valeur = Jsonb(valeur)
                    rangee.append(valeur)
                copie.write_row(rangee)
                nombre += 1
        curseur.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {table}))",
            [modele._meta.db_table],
        )
    return nombre


def _premier_id(modele: type[models.Model]) -> int:
    with connection.cursor() as curseur:
        table = connection.ops.quote_name(modele._meta.db_table)
        curseur.execute(f"SELECT COALESCE(max(id), 0) + 1 FROM {table}")
        return curseur.fetchone()[0]


# --- Générateurs par table ------------------------------------------------------------------------


def _structures(debut: int, nombre: int) -> Iterator[dict]:
    for i in range(debut, debut + nombre):
        code, libelle = CATEGORIES[i % len(CATEGORIES)]
        code_commune, code_postal, commune = VILLES[i % len(VILLES)]
        yield {
            "id": i,
            "finess_eg": finess_fictif(i),
            "finess_ej": finess_fictif(500_000 + i // 3),
            "finess_cle_verifiee": True,
            "identifiant_technique": "F" + finess_fictif(i),
            "raison_sociale": f"{libelle.split('(')[-1].rstrip(')')} fictif n°{i}",
            "categorie_code": code,
            "categorie_libelle": libelle,
            "adresse": f"{1 + i % 200} rue des Essais",
            "code_postal": code_postal,
            "commune": commune,
            "code_commune": code_commune,
            "telephone": f"04{i % 100_000_000:08d}",
        }


def _professionnels(debut: int, nombre: int) -> Iterator[dict]:
    for i in range(debut, debut + nombre):
        code, libelle = PROFESSIONS[i % len(PROFESSIONS)]
        yield {
            "id": i,
            "idnat_ps": "8" + rpps_fictif(i),
            "civilite_exercice": "DR" if code == "10" else "",
            "nom_exercice": f"{NOMS[i % len(NOMS)]}-{i}",
            "prenom_exercice": (PRENOMS_F + PRENOMS_M)[i % 20],
            "profession_code": code,
            "profession_libelle": libelle,
            "categorie_professionnelle": "C",
        }


def _exercices(alea: random.Random, debut: int, professionnels: range, structures: range, moyenne: float):
    i = debut
    for professionnel in professionnels:
        code, libelle = PROFESSIONS[professionnel % len(PROFESSIONS)]
        nombre = 1 + (alea.random() < moyenne - 1)
        for structure in alea.sample(structures, min(nombre, len(structures))):
            yield {
                "id": i,
                "professionnel_id": professionnel,
                "structure_id": structure,
                "profession_code": code,
                "profession_libelle": libelle,
                "mode_exercice": ModeExercice.SALARIE if alea.random() < 0.8 else ModeExercice.LIBERAL,
                "secteur_activite_code": "SA16",
                "date_debut": datetime.date(2010 + alea.randrange(15), 1 + alea.randrange(12), 1),
            }
            i += 1


def _usagers(alea: random.Random, debut: int, nombre: int) -> Iterator[dict]:
    aujourdhui = datetime.date(2025, 1, 1)
    for i in range(debut, debut + nombre):
        sexe = Sexe.FEMININ if i % 2 else Sexe.MASCULIN
        prenoms = PRENOMS_F if sexe == Sexe.FEMININ else PRENOMS_M
        nom = NOMS[alea.randrange(len(NOMS))]
        prenoms_naissance = f"{prenoms[alea.randrange(10)]} {prenoms[alea.randrange(10)]}"
        naissance = datetime.date(1925 + alea.randrange(95), 1 + alea.randrange(12), 1 + alea.randrange(28))
        tirage = alea.random()
        ligne = {
            "id": i,
            "nom_naissance": nom,
            "prenoms_naissance": prenoms_naissance,
            "date_naissance": naissance,
            "sexe": sexe,
            "nom_naissance_normalise": normaliser_trait(nom),
            "premier_prenom_normalise": normaliser_trait(prenoms_naissance.split(" ")[0]),
            "code_postal": VILLES[i % len(VILLES)][1],
            "commune": VILLES[i % len(VILLES)][2],
            "adresse": f"{1 + i % 150} avenue des Tilleuls",
        }
        if tirage < 0.3:  # identité provisoire, sans INS
            ligne.update(statut_identite=StatutIdentite.PROVISOIRE, matricule_ins=None, oid_ins="")
        else:
            matricule, lieu = matricule_ins_fictif(i, sexe, naissance)
            ligne.update(matricule_ins=matricule, oid_ins=OID_INS_TEST, code_lieu_naissance=lieu)
            if tirage < 0.5:
                ligne.update(statut_identite=StatutIdentite.VALIDEE, mode_recueil=ModeRecueil.SAISIE_MANUELLE,
                             justificatif_identite="carte nationale d'identité")  # fmt: skip
            elif tirage < 0.6:
                ligne.update(statut_identite=StatutIdentite.RECUPEREE, mode_recueil=ModeRecueil.INSI,
                             date_interrogation_insi=aujourdhui)  # fmt: skip
            else:
                ligne.update(statut_identite=StatutIdentite.QUALIFIEE, mode_recueil=ModeRecueil.INSI,
                             date_interrogation_insi=aujourdhui,
                             justificatif_identite="carte nationale d'identité")  # fmt: skip
        yield ligne


_LIENS = (
    (LienProche.AIDANT, ""),
    (LienProche.FAMILLE, ""),
    (LienProche.PERSONNE_CONFIANCE, ""),
    (LienProche.REPRESENTANT_LEGAL, MesureProtection.TUTELLE),
    (LienProche.REPRESENTANT_LEGAL, MesureProtection.CURATELLE),
    (LienProche.PERSONNE_A_PREVENIR, ""),
)


def _proches(alea: random.Random, debut: int, usagers: range, moyenne: float) -> Iterator[dict]:
    i = debut
    for usager in usagers:
        nombre = int(moyenne) + (alea.random() < moyenne - int(moyenne))
        for _ in range(nombre):
            lien, mesure = _LIENS[alea.randrange(len(_LIENS))]
            yield {
                "id": i,
                "usager_id": usager,
                "lien": lien,
                "mesure_protection": mesure,
                "precision_lien": "fille" if lien == LienProche.FAMILLE else "",
                "nom": NOMS[alea.randrange(len(NOMS))],
                "prenoms": PRENOMS_F[alea.randrange(10)],
                "telephone": f"06{i % 100_000_000:08d}",
                "date_debut": datetime.date(2015 + alea.randrange(10), 1 + alea.randrange(12), 1),
            }
            i += 1


def generer(echelle: Echelle | str, graine: int = 1) -> dict[str, dict]:
    """Remplit structures, professionnels, exercices, usagers et proches. Renvoie, par table,
    le nombre de lignes, la durée et le débit (lignes/s)."""
    if isinstance(echelle, str):
        echelle = ECHELLES[echelle]
    alea = random.Random(graine)
    resultats: dict[str, dict] = {}

    def mesurer(modele: type[models.Model], lignes: Iterator[dict]) -> None:
        debut = time.perf_counter()
        nombre = _copier(modele, lignes)
        duree = time.perf_counter() - debut
        resultats[modele._meta.db_table] = {
            "lignes": nombre,
            "secondes": round(duree, 3),
            "lignes_par_s": round(nombre / duree) if duree > 0 else None,
        }

    premiere_structure = _premier_id(Structure)
    mesurer(Structure, _structures(premiere_structure, echelle.structures))
    premier_professionnel = _premier_id(Professionnel)
    mesurer(Professionnel, _professionnels(premier_professionnel, echelle.professionnels))
    mesurer(
        Exercice,
        _exercices(
            alea,
            _premier_id(Exercice),
            range(premier_professionnel, premier_professionnel + echelle.professionnels),
            range(premiere_structure, premiere_structure + echelle.structures),
            echelle.exercices_par_professionnel,
        ),
    )
    premier_usager = _premier_id(Usager)
    mesurer(Usager, _usagers(alea, premier_usager, echelle.usagers))
    mesurer(
        Proche,
        _proches(
            alea,
            _premier_id(Proche),
            range(premier_usager, premier_usager + echelle.usagers),
            echelle.proches_par_usager,
        ),
    )
    return resultats
