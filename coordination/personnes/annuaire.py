"""Import de l'extraction publique de l'Annuaire Santé « PS_LibreAcces_Personne_activite ».

Une ligne du fichier = une activité d'un professionnel : la personne (idNat_PS), sa profession,
et la structure où il l'exerce (ou aucune). L'import alimente `Professionnel`, `Structure` et
`Exercice` par « upsert » : réimporter le même fichier ne change rien, un nom modifié est mis à jour.

Le fichier (2 à 3 millions de lignes) est lu en flux, ligne à ligne, et traité par lots :
- un fil de lecture découpe et valide chaque ligne (nombre de colonnes, format de
  l'idNat_PS et des FINESS, clés de Luhn) et prépare le texte COPY du lot (colonnes utiles
  seulement) ; les lignes mal formées sont signalées (numéro + motif) et écartées ;
- la connexion principale envoie chaque lot par un seul `COPY` dans une table temporaire, puis
  fait les upserts ensemblistes des professionnels et des structures (`INSERT … ON CONFLICT …
  DO UPDATE`, précédé d'un filtre qui écarte les lignes inchangées) ;
- une seconde connexion écrit les situations d'exercice du lot k, une fois ses professionnels
  et structures validés, pendant que la principale traite le lot k+1 (dans une transaction
  englobante, en test par exemple, tout passe par la connexion courante) ;
- chaque lot dans sa propre transaction, sur chaque connexion. Les files d'attente sont bornées :
  la mémoire dépend de la taille du lot, pas de celle du fichier.

Sur des tables vides (ou avec `--chargement-initial`), chargement initial : une seule transaction,
index secondaires et contraintes retirés, lignes écrites par COPY directement dans les trois tables
pendant la lecture (identifiants et UUID attribués en Python), index et contraintes recréés à
l'identique ; repli sur une table temporaire et des insertions ensemblistes si le fichier n'est pas
trié par idNat_PS (voir « Chargement initial » plus bas).

Une clé de contrôle (RPPS, ADELI ou FINESS) fausse dans l'extraction officielle est signalée mais la
ligne est importée : les identifiants de l'extraction officielle font foi (interop.md §1.3).
"""

from __future__ import annotations

import operator
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from django.db import IntegrityError, connection, transaction

# En-tête exact de l'extraction (52 colonnes, chacune suivie de « | »).
COLONNES = (
    "Type d'identifiant PP",
    "Identifiant PP",
    "Identification nationale PP",
    "Code civilité d'exercice",
    "Libellé civilité d'exercice",
    "Code civilité",
    "Libellé civilité",
    "Nom d'exercice",
    "Prénom d'exercice",
    "Code profession",
    "Libellé profession",
    "Code catégorie professionnelle",
    "Libellé catégorie professionnelle",
    "Code type savoir-faire",
    "Libellé type savoir-faire",
    "Code savoir-faire",
    "Libellé savoir-faire",
    "Code mode exercice",
    "Libellé mode exercice",
    "Numéro SIRET site",
    "Numéro SIREN site",
    "Numéro FINESS site",
    "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure",
    "Raison sociale site",
    "Enseigne commerciale site",
    "Complément destinataire (coord. structure)",
    "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)",
    "Indice répétition voie (coord. structure)",
    "Code type de voie (coord. structure)",
    "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)",
    "Mention distribution (coord. structure)",
    "Bureau cedex (coord. structure)",
    "Code postal (coord. structure)",
    "Code commune (coord. structure)",
    "Libellé commune (coord. structure)",
    "Code pays (coord. structure)",
    "Libellé pays (coord. structure)",
    "Téléphone (coord. structure)",
    "Téléphone 2 (coord. structure)",
    "Télécopie (coord. structure)",
    "Adresse e-mail (coord. structure)",
    "Code Département (structure)",
    "Libellé Département (structure)",
    "Ancien identifiant de la structure",
    "Autorité d'enregistrement",
    "Code secteur d'activité",
    "Libellé secteur d'activité",
    "Code section tableau pharmaciens",
    "Libellé section tableau pharmaciens",
)
NB_COLONNES = len(COLONNES)
ENTETE = "|".join(COLONNES) + "|"

# Index des colonnes utilisées par la validation (0 = première colonne).
I_TYPE_ID, I_ID_PP, I_IDNAT = 0, 1, 2
I_NOM = 7
I_MODE = 17
I_FINESS_SITE, I_FINESS_EJ, I_ID_TECHNIQUE = 21, 22, 23

MODES_EXERCICE = frozenset({"", "L", "S", "B"})
LONGUEUR_MAX_ID_TECHNIQUE = 40
TAILLE_LOT_DEFAUT = 20_000
# Nombre de messages détaillés gardés dans le rapport (les compteurs, eux, sont exacts).
MESSAGES_GARDES = 1000

TABLE_LIGNES = "annuaire_lignes"
# Colonnes copiées en base (celles que lisent les requêtes) : COPY coûte au serveur à peu près
# proportionnellement au nombre de colonnes ; les 52 colonnes brutes doublaient son temps.
COLONNES_PERSONNES = (2, 3, 7, 8, 9, 10, 11, 15, 16, 17, 19, 21, 22, 23, 24, 25, 27, 28, 29, 31, 32, 33, 34,
                      35, 36, 37, 40, 48)  # fmt: skip
COLONNES_EXERCICES = (2, 9, 10, 17, 21, 23, 48)
_extraire_personnes = operator.itemgetter(*COLONNES_PERSONNES)
_extraire_exercices = operator.itemgetter(*COLONNES_EXERCICES)


# --- Validation des identifiants (rapide : appelée sur chaque ligne) -----------------------------

_DOUBLE = {str(c): (2 * c if c < 5 else 2 * c - 9) for c in range(10)}


def luhn_valide(chiffres: str) -> bool:
    """Clé de Luhn d'une chaîne de chiffres (déjà vérifiée comme telle)."""
    return (sum(map(int, chiffres[-1::-2])) + sum(map(_DOUBLE.__getitem__, chiffres[-2::-2]))) % 10 == 0


def _format_finess(finess: str) -> bool:
    """9 caractères : 9 chiffres, ou 2A/2B (Corse) suivis de 7 chiffres."""
    return len(finess) == 9 and (finess.isdigit() or (finess[:2] in ("2A", "2B") and finess[2:].isdigit()))


def _format_adeli(adeli: str) -> bool:
    return len(adeli) == 9 and (adeli.isdigit() or (adeli[:2] in ("2A", "2B") and adeli[2:].isdigit()))


class LigneRejetee(Exception):
    """Ligne mal formée : écartée de l'import, avec son motif (en français)."""


def verifier_idnat(idnat: str) -> str | None:
    """Vérifie le format de l'idNat_PS ; lève LigneRejetee si mal formé, renvoie un avertissement
    (clé de Luhn du RPPS ou de l'ADELI fausse) ou None."""
    if not idnat:
        raise LigneRejetee("Identification nationale PP : valeur vide.")
    if idnat[0] == "8" and len(idnat) == 12 and idnat.isdigit():
        if not luhn_valide(idnat[1:]):
            return (
                f"Identification nationale PP « {idnat} » : la clé de contrôle du RPPS ne correspond pas ; "
                "ligne importée quand même (l'extraction officielle fait foi)."
            )
        return None
    if idnat[0] == "0" and len(idnat) == 10 and _format_adeli(idnat[1:]):
        if idnat[1:].isdigit() and not luhn_valide(idnat[1:]):  # Corse (2A/2B) : clé non vérifiée
            return (
                f"Identification nationale PP « {idnat} » : la clé de contrôle du numéro ADELI ne correspond "
                "pas ; ligne importée quand même (l'extraction officielle fait foi)."
            )
        return None
    raise LigneRejetee(
        f"Identification nationale PP « {idnat} » : attendu « 8 » suivi des 11 chiffres du RPPS, "
        "ou « 0 » suivi des 9 caractères ADELI."
    )


def verifier_finess(finess: str, colonne: str) -> tuple[bool, str | None]:
    """(clé vérifiée, avertissement) pour un FINESS non vide ; lève LigneRejetee si mal formé."""
    if not _format_finess(finess):
        raise LigneRejetee(
            f"{colonne} « {finess} » : attendu 9 caractères, chiffres ou 2A/2B pour la Corse en tête."
        )
    if not finess.isdigit():
        return False, None  # Corse : règle de clé non publiée, format seul vérifié.
    if not luhn_valide(finess):
        return False, (
            f"{colonne} « {finess} » : la clé de contrôle (9e chiffre) ne correspond pas ; "
            "ligne importée quand même (l'extraction officielle fait foi)."
        )
    return True, None


# --- Rapport ---------------------------------------------------------------------------------------


@dataclass
class RapportImport:
    fichier: str = ""
    lignes_lues: int = 0
    lignes_importees: int = 0
    lignes_rejetees: int = 0
    avertissements: int = 0
    professionnels_crees: int = 0
    professionnels_mis_a_jour: int = 0
    structures_creees: int = 0
    structures_mises_a_jour: int = 0
    exercices_crees: int = 0
    exercices_mis_a_jour: int = 0
    lots: int = 0
    duree_s: float = 0.0
    # « chargement_initial » pour le chemin des tables vides ; vide pour l'import incrémental.
    mode: str = ""
    # Chargement initial : « flux » (COPY direct dans les tables) ou « table_temporaire » (repli).
    chargement: str = ""
    # (numéro de ligne, motif) ; seuls les MESSAGES_GARDES premiers sont gardés.
    rejets: list[tuple[int, str]] = field(default_factory=list)
    alertes: list[tuple[int, str]] = field(default_factory=list)

    @property
    def lignes_par_seconde(self) -> float:
        return self.lignes_lues / self.duree_s if self.duree_s > 0 else 0.0

    def compteurs(self) -> dict:
        """Les chiffres de l'import (détails du journal, sortie JSON du banc)."""
        return (
            {
                "fichier": self.fichier,
                "lignes_lues": self.lignes_lues,
                "lignes_importees": self.lignes_importees,
                "lignes_rejetees": self.lignes_rejetees,
                "avertissements": self.avertissements,
                "professionnels_crees": self.professionnels_crees,
                "professionnels_mis_a_jour": self.professionnels_mis_a_jour,
                "structures_creees": self.structures_creees,
                "structures_mises_a_jour": self.structures_mises_a_jour,
                "exercices_crees": self.exercices_crees,
                "exercices_mis_a_jour": self.exercices_mis_a_jour,
                "lots": self.lots,
                "duree_ms": round(self.duree_s * 1000),
                "lignes_par_seconde": round(self.lignes_par_seconde),
            }
            | ({"mode": self.mode} if self.mode else {})
            | ({"chargement": self.chargement} if self.chargement else {})
        )

    def resume(self) -> str:
        """Résumé en français, une donnée par ligne."""
        return "\n".join(
            [
                f"Import de l'annuaire terminé : {self.fichier}",
                f"  Lignes lues : {self.lignes_lues}",
                f"  Lignes importées : {self.lignes_importees}",
                f"  Lignes rejetées : {self.lignes_rejetees}",
                f"  Avertissements : {self.avertissements}",
                f"  Professionnels créés : {self.professionnels_crees}, "
                f"mis à jour : {self.professionnels_mis_a_jour}",
                f"  Structures créées : {self.structures_creees}, "
                f"mises à jour : {self.structures_mises_a_jour}",
                f"  Situations d'exercice créées : {self.exercices_crees}, "
                f"mises à jour : {self.exercices_mis_a_jour}",
                f"  Durée : {self.duree_s:.1f} s ({self.lignes_par_seconde:,.0f} lignes/s)".replace(",", " "),
            ]
        )


class ErreurImport(Exception):
    """Fichier inutilisable (absent, en-tête inattendu) : l'import n'a pas commencé."""


# --- Lecture et validation (fil de lecture) --------------------------------------------------


@dataclass
class Lot:
    # Lignes au format COPY texte (séparateur « | ») : numéro de ligne, COLONNES_PERSONNES, drapeaux.
    texte: str
    nb_lignes: int
    premiere_ligne: int
    derniere_ligne: int
    # Mode parallèle : numéro de ligne et COLONNES_EXERCICES, pour la seconde connexion.
    texte_exercices: str = ""
    # Chargement en flux : (numéro, drapeaux, ligne brute non échappée) par ligne valide.
    lignes: list | None = None


_FIN = object()


def _verifier_entete(ligne: str) -> None:
    colonnes = ligne.rstrip("\r\n").lstrip("\ufeff").split("|")
    if colonnes and colonnes[-1] == "":
        colonnes.pop()
    if len(colonnes) != NB_COLONNES:
        raise ErreurImport(
            f"En-tête inattendu : {len(colonnes)} colonnes au lieu de {NB_COLONNES} ; ce fichier n'est pas "
            "une extraction PS_LibreAcces_Personne_activite."
        )
    if colonnes[I_IDNAT] != COLONNES[I_IDNAT] or colonnes[I_FINESS_SITE] != COLONNES[I_FINESS_SITE]:
        raise ErreurImport(
            f"En-tête inattendu : la colonne 3 devrait être « {COLONNES[I_IDNAT]} » et la colonne 22 "
            f"« {COLONNES[I_FINESS_SITE]} » (vérifiez l'encodage avec --encodage)."
        )


def lire_lots(
    chemin: Path,
    rapport: RapportImport,
    *,
    encodage: str = "utf-8",
    taille_lot: int = TAILLE_LOT_DEFAUT,
    signaler: Callable[[str], None] | None = None,
    texte_exercices: bool = False,
    valeurs: bool = False,
    deja_signalees: int = 0,
):
    """Générateur de lots prêts pour COPY. Une ligne valide a exactement 52 colonnes, chacune suivie
    de « | » (comme l'en-tête) : sans le « | » final, une colonne manquante passerait inaperçue.
    Met à jour `rapport` (lignes lues, rejets, alertes).

    Une ligne COPY : « numéro|c2|c3|c7|…|drapeaux » (COLONNES_PERSONNES) ; `drapeaux` contient
    « f » quand la clé du FINESS site n'a pas pu être vérifiée (Corse ou clé fausse).
    Avec `valeurs`, le lot porte à la place `lignes` : (numéro, drapeaux, ligne brute non échappée),
    pour le chargement initial en flux, qui formate lui-même son COPY (la ligne entière pèse cinq fois
    moins en mémoire que ses 28 colonnes utiles découpées, et un lot attend dans la file) ; les
    drapeaux contiennent alors « e » si la ligne a un caractère à échapper (« \\ », tabulation, « \r »).
    `deja_signalees` : numéro de la dernière ligne déjà passée à `signaler` (relecture après un
    chargement en flux abandonné), pour ne pas signaler deux fois la même ligne.
    Un lot n'est coupé qu'entre deux professionnels (le fichier officiel est trié par identifiant)
    pour que les lignes d'une même personne soient traitées ensemble ; il ne dépasse jamais deux
    fois `taille_lot`.
    """
    rejets, alertes = rapport.rejets, rapport.alertes
    cache_finess: dict[str, tuple[bool, str | None]] = {}

    def rejeter(numero: int, motif: str) -> None:
        rapport.lignes_rejetees += 1
        if len(rejets) < MESSAGES_GARDES:
            rejets.append((numero, motif))
        if signaler is not None and numero > deja_signalees:
            signaler(f"Ligne {numero} rejetée : {motif}")

    def alerter(numero: int, motif: str) -> None:
        rapport.avertissements += 1
        if len(alertes) < MESSAGES_GARDES:
            alertes.append((numero, motif))
        if signaler is not None and numero > deja_signalees:
            signaler(f"Ligne {numero} (avertissement) : {motif}")

    def finess(valeur: str, colonne: str) -> tuple[bool, str | None]:
        resultat = cache_finess.get(valeur)
        if resultat is None:
            resultat = verifier_finess(valeur, colonne)
            if len(cache_finess) > 500_000:
                cache_finess.clear()
            cache_finess[valeur] = resultat
        return resultat

    morceaux: list[str] = []
    morceaux_exercices: list[str] = []
    premiere = 0
    idnat_precedent = ""
    with open(chemin, "rb") as fichier:
        brute = fichier.readline()
        try:
            _verifier_entete(brute.decode(encodage))
        except UnicodeDecodeError as exc:
            raise ErreurImport(f"En-tête illisible en {encodage} : {exc.reason}.") from exc
        numero = 1
        for brute in fichier:
            numero += 1
            rapport.lignes_lues += 1
            try:
                ligne = brute.decode(encodage).rstrip("\r\n")
            except UnicodeDecodeError:
                rejeter(numero, f"ligne illisible en {encodage} (caractères invalides).")
                continue
            if (
                not valeurs and "\\" in ligne
            ):  # seul caractère à échapper pour COPY (« | » sépare déjà les colonnes)
                ligne = ligne.replace("\\", "\\\\")
            if "\x00" in ligne:
                rejeter(numero, "caractère nul dans la ligne.")
                continue
            champs = ligne.split("|")
            nb = len(champs)
            if nb != NB_COLONNES + 1 or champs[-1] != "":
                if not ligne.strip():
                    rejeter(numero, "ligne vide.")
                elif champs[-1] != "":
                    rejeter(
                        numero,
                        f"la ligne doit se terminer par « | » ({nb} colonnes lues, {NB_COLONNES} attendues).",
                    )
                else:
                    rejeter(numero, f"{nb - 1} colonnes au lieu de {NB_COLONNES}.")
                continue
            idnat = champs[I_IDNAT]
            try:
                avertissement = verifier_idnat(idnat)
                if avertissement is not None:
                    alerter(numero, avertissement)
                if champs[I_TYPE_ID] + champs[I_ID_PP] != idnat:
                    alerter(
                        numero,
                        f"Identification nationale PP « {idnat} » : ne correspond pas au type "
                        f"« {champs[I_TYPE_ID]} » suivi de l'identifiant PP « {champs[I_ID_PP]} » ; "
                        "ligne importée.",
                    )
                if not champs[I_NOM].strip():
                    raise LigneRejetee("Nom d'exercice : valeur vide.")
                drapeaux = ""
                valeur = champs[I_FINESS_SITE]
                if valeur:
                    cle_verifiee, avertissement = finess(valeur, "Numéro FINESS site")
                    if avertissement is not None:
                        alerter(numero, avertissement)
                    if not cle_verifiee:
                        drapeaux = "f"
                valeur = champs[I_FINESS_EJ]
                if valeur:
                    _, avertissement = finess(valeur, "Numéro FINESS établissement juridique")
                    if avertissement is not None:
                        alerter(numero, avertissement)
                if len(champs[I_ID_TECHNIQUE]) > LONGUEUR_MAX_ID_TECHNIQUE:
                    raise LigneRejetee(
                        "Identifiant technique de la structure : plus de "
                        f"{LONGUEUR_MAX_ID_TECHNIQUE} caractères."
                    )
                if champs[I_MODE] not in MODES_EXERCICE:
                    alerter(
                        numero,
                        f"Code mode exercice « {champs[I_MODE]} » inconnu (attendu L, S ou B) ; "
                        "situation d'exercice importée sans mode.",
                    )
            except LigneRejetee as exc:
                rejeter(numero, str(exc))
                continue
            if morceaux and (
                len(morceaux) >= 2 * taille_lot or (len(morceaux) >= taille_lot and idnat != idnat_precedent)
            ):
                if valeurs:
                    yield Lot("", len(morceaux), premiere, numero - 1, lignes=morceaux)
                else:
                    yield Lot(
                        "".join(morceaux), len(morceaux), premiere, numero - 1, "".join(morceaux_exercices)
                    )
                morceaux, morceaux_exercices = [], []
            if not morceaux:
                premiere = numero
            if valeurs:
                if "\\" in ligne or "\t" in ligne or "\r" in ligne:
                    drapeaux += "e"  # caractères à échapper pour COPY (texte)
                morceaux.append((numero, drapeaux, ligne))
                idnat_precedent = idnat
                continue
            morceaux.append(f"{numero}|{'|'.join(_extraire_personnes(champs))}|{drapeaux}\n")
            if texte_exercices:
                morceaux_exercices.append(f"{numero}|{'|'.join(_extraire_exercices(champs))}\n")
            idnat_precedent = idnat
    if morceaux and valeurs:
        yield Lot("", len(morceaux), premiere, numero, lignes=morceaux)
    elif morceaux:
        yield Lot("".join(morceaux), len(morceaux), premiere, numero, "".join(morceaux_exercices))


# --- Écriture en base (fil principal) --------------------------------------------------------

SQL_TABLE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {TABLE_LIGNES} "
    f"(n bigint, {', '.join(f'c{i} text' for i in COLONNES_PERSONNES)}, drapeaux text)"
)
_COLONNES_EXERCICES_SQL = ", ".join(f"c{i} text" for i in COLONNES_EXERCICES)
SQL_TABLE_EXERCICES = f"CREATE TEMP TABLE IF NOT EXISTS {TABLE_LIGNES} (n bigint, {_COLONNES_EXERCICES_SQL})"

# Chaque upsert suit le même plan : `source` (une ligne par clé, la première du lot),
# `a_ecrire` (seulement les clés absentes de la table ou dont un champ diffère : une ligne
# inchangée n'est ni verrouillée ni réécrite, ce qui rend la réimportation quasi en lecture seule),
# puis INSERT … ON CONFLICT DO UPDATE (qui reste correct si une autre session écrit en même temps).
# `RETURNING (xmax = 0)` distingue les lignes créées des lignes mises à jour.

_CHAMPS_PROFESSIONNEL = (
    "civilite_exercice",
    "nom_exercice",
    "prenom_exercice",
    "profession_code",
    "profession_libelle",
    "categorie_professionnelle",
    "savoir_faire_code",
    "savoir_faire_libelle",
)


def _liste(prefixe: str, champs: tuple[str, ...]) -> str:
    return ", ".join(f"{prefixe}{champ}" for champ in champs)


def _affectations(champs: tuple[str, ...]) -> str:
    return ", ".join(f"{champ} = EXCLUDED.{champ}" for champ in champs)


_COMPTER = "SELECT count(*) FILTER (WHERE cree), count(*) FILTER (WHERE NOT cree) FROM ecrits"

# Ordre des lignes d'une même clé : `ORDRE` est remplacé par « n » (première ligne du lot) dans les
# upserts, par « b DESC, n » (première ligne du dernier lot qui la contient : ce que laissent les
# upserts successifs) dans le chargement initial.
ORDRE = "__ORDRE__"

_SOURCE_PROFESSIONNELS = f"""
    SELECT DISTINCT ON (c2) c2 AS idnat_ps, left(c3, 10) AS civilite_exercice,
           left(c7, 100) AS nom_exercice, left(c8, 100) AS prenom_exercice, left(c9, 4) AS profession_code,
           left(c10, 120) AS profession_libelle, left(c11, 1) AS categorie_professionnelle,
           left(c15, 10) AS savoir_faire_code, left(c16, 200) AS savoir_faire_libelle
    FROM annuaire_lignes ORDER BY c2, {ORDRE}
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée


def _ordonner(requete: str, ordre: str) -> str:
    return requete.replace(ORDRE, ordre)


SQL_PROFESSIONNELS = f"""
WITH source AS ({_ordonner(_SOURCE_PROFESSIONNELS, "n")}), a_ecrire AS (
    SELECT source.* FROM source LEFT JOIN personnes_professionnel p ON p.idnat_ps = source.idnat_ps
    WHERE p.id IS NULL
       OR ({_liste("p.", _CHAMPS_PROFESSIONNEL)})
          IS DISTINCT FROM ({_liste("source.", _CHAMPS_PROFESSIONNEL)})
), ecrits AS (
    INSERT INTO personnes_professionnel AS p (
        uuid, cree_le, modifie_le, idnat_ps, {_liste("", _CHAMPS_PROFESSIONNEL)}, bal_mssante, telephone)
    SELECT gen_random_uuid(), now(), now(), idnat_ps, {_liste("", _CHAMPS_PROFESSIONNEL)}, '', ''
    FROM a_ecrire
    ON CONFLICT (idnat_ps) DO UPDATE SET
        modifie_le = EXCLUDED.modifie_le, {_affectations(_CHAMPS_PROFESSIONNEL)}
    WHERE ({_liste("p.", _CHAMPS_PROFESSIONNEL)})
          IS DISTINCT FROM ({_liste("EXCLUDED.", _CHAMPS_PROFESSIONNEL)})
    RETURNING (xmax = 0) AS cree
)
{_COMPTER}
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée

# Champs d'une structure tirés d'une ligne (adresse : complément géographique, voie, mention).
_SELECTION_STRUCTURE = r"""
    left(COALESCE(NULLIF(c24, ''), NULLIF(c25, ''), c23, c21), 200) AS raison_sociale,
    left(c25, 200) AS enseigne,
    left(concat_ws(', ', NULLIF(c27, ''), NULLIF(concat_ws(' ', NULLIF(c28, ''), NULLIF(c29, ''),
        NULLIF(c31, ''), NULLIF(c32, '')), ''), NULLIF(c33, '')), 250) AS adresse,
    left(c35, 5) AS code_postal,
    left(COALESCE(NULLIF(c37, ''), regexp_replace(c34, '^[0-9]{5} *', '')), 120) AS commune,
    left(c36, 5) AS code_commune,
    left(c40, 20) AS telephone,
    CASE WHEN c19 ~ '^[0-9]{14}$' THEN c19 ELSE '' END AS siret,
    c22 AS finess_ej
"""
_CHAMPS_STRUCTURE = (
    "raison_sociale",
    "enseigne",
    "adresse",
    "code_postal",
    "commune",
    "code_commune",
    "telephone",
    "siret",
    "finess_ej",
)
_CHAMPS_STRUCTURE_FINESS = (*_CHAMPS_STRUCTURE, "finess_cle_verifiee")

# Structures repérées par leur FINESS site. L'identifiant technique est posé à la création (s'il
# n'est pas déjà porté par une autre structure, sinon la contrainte d'unicité ferait échouer le lot)
# et jamais modifié ensuite par l'upsert : une colonne clé modifiée imposerait un verrou qui
# bloquerait les contrôles de clés étrangères de la session des exercices (voir _EcrivainExercices).
_SOURCE_STRUCTURES_FINESS = f"""
    SELECT DISTINCT ON (c21) c21 AS finess_eg, NULLIF(c23, '') AS identifiant_technique,
           drapeaux NOT LIKE '%f%' AS finess_cle_verifiee, {_SELECTION_STRUCTURE}
    FROM annuaire_lignes WHERE c21 <> '' ORDER BY c21, {ORDRE}
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée

SQL_STRUCTURES_FINESS = f"""
WITH source AS ({_ordonner(_SOURCE_STRUCTURES_FINESS, "n")}), a_ecrire AS (
    SELECT source.* FROM source LEFT JOIN personnes_structure s ON s.finess_eg = source.finess_eg
    WHERE s.id IS NULL
       OR ({_liste("s.", _CHAMPS_STRUCTURE_FINESS)})
          IS DISTINCT FROM ({_liste("source.", _CHAMPS_STRUCTURE_FINESS)})
), ecrits AS (
    INSERT INTO personnes_structure AS s (
        uuid, cree_le, modifie_le, finess_eg, identifiant_technique, {_liste("", _CHAMPS_STRUCTURE_FINESS)},
        categorie_code, categorie_libelle, bal_mssante)
    SELECT gen_random_uuid(), now(), now(), finess_eg,
           CASE WHEN EXISTS (SELECT 1 FROM personnes_structure autre
                             WHERE autre.identifiant_technique = a_ecrire.identifiant_technique)
                THEN NULL ELSE identifiant_technique END,
           {_liste("", _CHAMPS_STRUCTURE_FINESS)}, '', '', ''
    FROM a_ecrire
    ON CONFLICT (finess_eg) DO UPDATE SET modifie_le = EXCLUDED.modifie_le,
        {_affectations(_CHAMPS_STRUCTURE_FINESS)}
    RETURNING (xmax = 0) AS cree
)
{_COMPTER}
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée

# Structure à FINESS connue sans identifiant technique (créée à la main, par exemple) : on le
# complète une fois, s'il est libre. Cas rare ; l'état ordinaire ne touche aucune ligne.
SQL_COMPLETER_IDENTIFIANT_TECHNIQUE = """
UPDATE personnes_structure s SET identifiant_technique = l.c23, modifie_le = now()
FROM (SELECT DISTINCT ON (c21) c21, c23 FROM annuaire_lignes WHERE c21 <> '' AND c23 <> '' ORDER BY c21, n) l
WHERE s.finess_eg = l.c21 AND s.identifiant_technique IS NULL
  AND NOT EXISTS (SELECT 1 FROM personnes_structure autre WHERE autre.identifiant_technique = l.c23)
"""

# Structures sans FINESS (cabinets, sociétés…) : repérées par l'identifiant technique.
_SOURCE_STRUCTURES_TECHNIQUES = f"""
    SELECT DISTINCT ON (c23) c23 AS identifiant_technique, {_SELECTION_STRUCTURE}
    FROM annuaire_lignes WHERE c21 = '' AND c23 <> '' ORDER BY c23, {ORDRE}
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée

SQL_STRUCTURES_TECHNIQUES = f"""
WITH source AS ({_ordonner(_SOURCE_STRUCTURES_TECHNIQUES, "n")}), a_ecrire AS (
    SELECT source.* FROM source
    LEFT JOIN personnes_structure s ON s.identifiant_technique = source.identifiant_technique
    WHERE s.id IS NULL
       OR ({_liste("s.", _CHAMPS_STRUCTURE)}) IS DISTINCT FROM ({_liste("source.", _CHAMPS_STRUCTURE)})
), ecrits AS (
    INSERT INTO personnes_structure AS s (
        uuid, cree_le, modifie_le, identifiant_technique, {_liste("", _CHAMPS_STRUCTURE)},
        finess_cle_verifiee, categorie_code, categorie_libelle, bal_mssante)
    SELECT gen_random_uuid(), now(), now(), identifiant_technique, {_liste("", _CHAMPS_STRUCTURE)}, true,
           '', '', ''
    FROM a_ecrire
    ON CONFLICT (identifiant_technique) DO UPDATE SET modifie_le = EXCLUDED.modifie_le,
        {_affectations(_CHAMPS_STRUCTURE)}
    RETURNING (xmax = 0) AS cree
)
{_COMPTER}
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée

_CHAMPS_EXERCICE = ("profession_libelle", "mode_exercice", "secteur_activite_code")

# Situations d'exercice : professionnel × structure (ou aucune) × profession.
_SOURCE_EXERCICES = f"""
    SELECT DISTINCT ON (p.id, COALESCE(sf.id, st.id), left(l.c9, 4))
           p.id AS professionnel_id, COALESCE(sf.id, st.id) AS structure_id,
           left(l.c9, 4) AS profession_code, left(l.c10, 120) AS profession_libelle,
           CASE WHEN l.c17 IN ('L', 'S', 'B') THEN l.c17 ELSE '' END AS mode_exercice,
           left(l.c48, 6) AS secteur_activite_code
    FROM annuaire_lignes l
    JOIN personnes_professionnel p ON p.idnat_ps = l.c2
    -- Clé NULL quand la colonne ne s'applique pas : l'index n'est alors pas parcouru du tout.
    LEFT JOIN personnes_structure sf ON sf.finess_eg = NULLIF(l.c21, '')
    LEFT JOIN personnes_structure st
           ON st.identifiant_technique = CASE WHEN l.c21 = '' THEN NULLIF(l.c23, '') END
    ORDER BY p.id, COALESCE(sf.id, st.id), left(l.c9, 4), {ORDRE}
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée

SQL_EXERCICES = f"""
WITH source AS ({_ordonner(_SOURCE_EXERCICES, "l.n")}), a_ecrire AS (
    SELECT source.* FROM source
    LEFT JOIN personnes_exercice e ON e.professionnel_id = source.professionnel_id
         AND e.structure_id IS NOT DISTINCT FROM source.structure_id
         AND e.profession_code = source.profession_code
    WHERE e.id IS NULL
       OR ({_liste("e.", _CHAMPS_EXERCICE)}) IS DISTINCT FROM ({_liste("source.", _CHAMPS_EXERCICE)})
), ecrits AS (
    INSERT INTO personnes_exercice AS e (
        uuid, cree_le, modifie_le, professionnel_id, structure_id, profession_code, fonction,
        {_liste("", _CHAMPS_EXERCICE)})
    SELECT gen_random_uuid(), now(), now(), professionnel_id, structure_id, profession_code, '',
           {_liste("", _CHAMPS_EXERCICE)}
    FROM a_ecrire
    ON CONFLICT ON CONSTRAINT exercice_unique_par_structure_profession DO UPDATE SET
        modifie_le = EXCLUDED.modifie_le, {_affectations(_CHAMPS_EXERCICE)}
    WHERE ({_liste("e.", _CHAMPS_EXERCICE)}) IS DISTINCT FROM ({_liste("EXCLUDED.", _CHAMPS_EXERCICE)})
    RETURNING (xmax = 0) AS cree
)
{_COMPTER}
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée


TAILLE_MORCEAU_COPY = 1 << 20

# Pour la transaction d'un lot : la validation n'attend pas le disque (un import interrompu se
# rejoue à l'identique) ; la table temporaire n'a pas de statistiques (ANALYZE coûterait plus
# que le lot), on impose donc des boucles imbriquées sur les index uniques plutôt que des
# parcours complets des tables, dont le coût croîtrait avec leur taille. `enable_seqscan` aussi, par
# sûreté : sur des tables neuves dont les statistiques disent « vide », un parcours séquentiel en
# boucle interne rendrait l'import quadratique (seule la table temporaire est lue en entier).
SQL_REGLAGES_LOT = (
    "SET LOCAL synchronous_commit TO off; SET LOCAL enable_hashjoin TO off; "
    "SET LOCAL enable_mergejoin TO off; SET LOCAL enable_seqscan TO off"
)


def _copier(curseur_psycopg, texte: str, colonnes: str = "") -> None:
    """Un seul COPY du texte d'un lot dans la table temporaire (`colonnes` : « (n, c2, …) » ou rien)."""
    with curseur_psycopg.copy(f"COPY {TABLE_LIGNES} {colonnes} FROM STDIN (DELIMITER '|')") as copie:
        for debut in range(0, len(texte), TAILLE_MORCEAU_COPY):
            copie.write(texte[debut : debut + TAILLE_MORCEAU_COPY])


def _copier_lot(curseur_psycopg, texte: str) -> None:
    curseur_psycopg.execute(f"TRUNCATE {TABLE_LIGNES}")
    _copier(curseur_psycopg, texte)


def fonction_uuid(curseur) -> str:
    """Fonction SQL qui donne l'`uuid` public des lignes créées : `uuidv7()` à partir de
    PostgreSQL 18 (UUID ordonnés dans le temps, insérés en fin d'index B-tree au lieu d'une page
    au hasard : ~17 % de moins par insertion mesuré sur 2 millions de lignes), sinon
    `gen_random_uuid()`. Un UUID v7 porte sa date de création (à la milliseconde) : sans
    conséquence pour ces données publiques de l'annuaire."""
    curseur.execute("SHOW server_version_num")
    return "uuidv7()" if int(curseur.fetchone()[0]) >= 180000 else "gen_random_uuid()"


def _executer(curseur, requete: str, uuid_sql: str) -> None:
    curseur.execute(
        requete if uuid_sql == "gen_random_uuid()" else requete.replace("gen_random_uuid()", uuid_sql)
    )


def _ecrire_personnes(curseur, rapport: RapportImport, uuid_sql: str) -> None:
    """Professionnels et structures du lot déjà copié dans la table temporaire."""
    _executer(curseur, SQL_PROFESSIONNELS, uuid_sql)
    crees, maj = curseur.fetchone()
    rapport.professionnels_crees += crees
    rapport.professionnels_mis_a_jour += maj
    for requete in (SQL_STRUCTURES_FINESS, SQL_STRUCTURES_TECHNIQUES):
        _executer(curseur, requete, uuid_sql)
        crees, maj = curseur.fetchone()
        rapport.structures_creees += crees
        rapport.structures_mises_a_jour += maj
    curseur.execute(SQL_COMPLETER_IDENTIFIANT_TECHNIQUE)


def _ecrire_exercices(curseur, rapport: RapportImport, uuid_sql: str) -> None:
    _executer(curseur, SQL_EXERCICES, uuid_sql)
    crees, maj = curseur.fetchone()
    rapport.exercices_crees += crees
    rapport.exercices_mis_a_jour += maj


def _ecrire_lot(curseur, lot: Lot, rapport: RapportImport, uuid_sql: str) -> None:
    """Mode séquentiel : un lot = une transaction (COPY puis les quatre upserts)."""
    with transaction.atomic():
        curseur.execute(SQL_REGLAGES_LOT)
        _copier_lot(curseur.cursor, lot.texte)
        _ecrire_personnes(curseur, rapport, uuid_sql)
        _ecrire_exercices(curseur, rapport, uuid_sql)
    rapport.lignes_importees += lot.nb_lignes
    rapport.lots += 1


class _EcrivainExercices(threading.Thread):
    """Mode parallèle : écrit les situations d'exercice du lot k sur une seconde connexion pendant
    que la connexion principale écrit les professionnels et structures du lot k+1.

    Le lot k ne lui est confié qu'une fois ses professionnels et structures validés (COMMIT).
    Aucune attente entre les deux sessions : la session principale ne modifie jamais une colonne
    clé d'une ligne existante (son verrou FOR NO KEY UPDATE est compatible avec le FOR KEY SHARE
    des contrôles de clés étrangères de celle-ci), et elle seule écrit professionnels et structures.
    """

    def __init__(self, parametres: dict, rapport: RapportImport, uuid_sql: str) -> None:
        super().__init__(name="exercices-annuaire", daemon=True)
        self.parametres = parametres
        self.uuid_sql = uuid_sql
        self.rapport = rapport
        self.file: queue.Queue = queue.Queue(maxsize=3)
        self.erreur: BaseException | None = None

    def run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(**self.parametres) as connexion, connexion.cursor() as curseur:
                curseur.execute(SQL_TABLE_EXERCICES)
                connexion.commit()
                while (lot := self.file.get()) is not _FIN:
                    with connexion.transaction():
                        curseur.execute(SQL_REGLAGES_LOT)
                        _copier_lot(curseur, lot.texte_exercices)
                        _ecrire_exercices(curseur, self.rapport, self.uuid_sql)
                    self.rapport.lignes_importees += lot.nb_lignes
                    self.rapport.lots += 1
        except BaseException as exc:  # transmis au fil principal
            self.erreur = exc
            while self.file.get() is not _FIN:  # débloque le fil principal jusqu'à la fin
                pass

    def confier(self, lot) -> None:
        while self.is_alive():
            try:
                self.file.put(lot, timeout=0.5)
                return
            except queue.Full:
                continue

    def terminer(self) -> None:
        self.confier(_FIN)
        self.join()
        if self.erreur is not None:
            raise self.erreur


class _Lecture:
    """Fil de lecture : prépare le lot suivant pendant que PostgreSQL traite le lot courant (file
    bornée à deux lots). Commun aux deux chemins d'import."""

    def __init__(self, chemin: Path, rapport: RapportImport, **options) -> None:
        self.chemin, self.rapport, self.options = chemin, rapport, options
        self.file: queue.Queue = queue.Queue(maxsize=2)
        self.arret = threading.Event()
        self.erreur: BaseException | None = None
        self.fil = threading.Thread(target=self._lire, name="lecture-annuaire", daemon=True)

    def _lire(self) -> None:
        try:
            for lot in lire_lots(self.chemin, self.rapport, **self.options):
                while not self.arret.is_set():
                    try:
                        self.file.put(lot, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if self.arret.is_set():
                    return
        except BaseException as exc:  # transmis au fil principal
            self.erreur = exc
        finally:
            while True:
                try:
                    self.file.put(_FIN, timeout=0.5)
                    break
                except queue.Full:
                    if self.arret.is_set():
                        break

    def lots(self):
        """Les lots, dans l'ordre du fichier ; démarre la lecture au premier appel."""
        self.fil.start()
        while (lot := self.file.get()) is not _FIN:
            yield lot

    def terminer(self) -> None:
        """Attend la fin de la lecture ; relance l'erreur du fil de lecture s'il y en a eu une."""
        self.fil.join()
        if self.erreur is not None:
            raise self.erreur

    def arreter(self) -> None:
        self.arret.set()

    def recommencer(self, **options) -> None:
        """Arrête la lecture en cours et prépare une relecture du fichier depuis le début."""
        self.arreter()
        if self.fil.is_alive():
            self.fil.join()
        # Les lignes déjà lues (numéros 2 à lignes_lues + 1) ont déjà été signalées.
        options["deja_signalees"] = self.rapport.lignes_lues + 1
        self.__init__(self.chemin, self.rapport, **(self.options | options))


# --- Chargement initial (tables vides) ----------------------------------------------------------------
#
# Technique de pg_restore : dans UNE transaction, verrou exclusif sur les trois tables, retrait de
# leurs index secondaires (contraintes d'unicité comprises) et de leurs clés étrangères (celles des
# situations d'exercice, et professionnel → compte, différée : chaque insertion mettrait en file un
# contrôle), chargement, puis re-création des index et contraintes à partir de leurs définitions lues
# avant le retrait : leur construction prouve l'unicité et l'intégrité référentielle. Le DDL est
# transactionnel : toute erreur annule tout, schéma compris.
#
# Chargement « en flux » (par défaut) : dans un point de sauvegarde, COPY lot par lot directement dans
# les trois tables (_charger_en_flux), pendant que le fil de lecture prépare le lot suivant et qu'un
# troisième fil envoie les COPY ; les index sont recréés dans le même point de sauvegarde. Si l'index
# unique de l'idNat_PS refuse un doublon (fichier non trié) ou qu'un identifiant technique est revendiqué
# après coup, retour au point de sauvegarde et relecture du fichier par le chargement « table
# temporaire » : COPY de toutes les lignes dans une table temporaire, puis insertions ensemblistes
# (DISTINCT ON, pas d'ON CONFLICT). Les deux donnent les mêmes valeurs que l'import incrémental.

TABLES_CIBLES = ("personnes_professionnel", "personnes_structure", "personnes_exercice")

SQL_TABLES_VIDES = " AND ".join(f"NOT EXISTS (SELECT 1 FROM {table})" for table in TABLES_CIBLES)  # noqa: S608

# Contraintes adossées à un index (unicité, exclusion) et clés étrangères : (retrait, re-création).
SQL_CONTRAINTES_A_RETIRER = """
SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', conrelid::regclass, conname),
       format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s',
              conrelid::regclass, conname, pg_get_constraintdef(oid))
FROM pg_constraint
WHERE (contype IN ('u', 'x') AND conrelid = ANY(%(tables)s::regclass[]))
   OR (contype = 'f' AND conrelid = ANY(%(tables)s::regclass[]))
ORDER BY contype = 'f', conrelid::regclass::text, conname
"""
# Index secondaires qui ne portent pas de contrainte (la clé primaire reste).
SQL_INDEX_A_RETIRER = """
SELECT format('DROP INDEX %%s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY(%(tables)s::regclass[]) AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
ORDER BY i.indexrelid::regclass::text
"""

# Table temporaire du chargement : toutes les lignes du fichier, `b` = numéro du lot (réglage de
# session posé avant chaque COPY), pour reproduire l'ordre « dernier lot gagnant » des upserts.
_COLONNES_COPIE = f"(n, {', '.join(f'c{i}' for i in COLONNES_PERSONNES)}, drapeaux)"
SQL_TABLE_INITIALE = (
    f"CREATE TEMP TABLE {TABLE_LIGNES} (n bigint, {', '.join(f'c{i} text' for i in COLONNES_PERSONNES)}, "
    "drapeaux text, b integer NOT NULL DEFAULT current_setting('annuaire.lot')::integer)"
)
# Tris sur les clés dans l'ordre des octets (COLLATE "C" : comparaison directe, clés abrégées) ;
# l'égalité est la même qu'avec la collation de la base, seul l'ordre du tri change.
SQL_TABLE_INITIALE = SQL_TABLE_INITIALE.replace(" text", ' text COLLATE "C"')
_DERNIER_LOT = "b DESC, n"

SQL_INITIAL_PROFESSIONNELS = f"""
INSERT INTO personnes_professionnel (
    uuid, cree_le, modifie_le, idnat_ps, {_liste("", _CHAMPS_PROFESSIONNEL)}, bal_mssante, telephone)
SELECT gen_random_uuid(), now(), now(), idnat_ps, {_liste("", _CHAMPS_PROFESSIONNEL)}, '', ''
FROM ({_ordonner(_SOURCE_PROFESSIONNELS, _DERNIER_LOT)}) source
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée

# Identifiant technique d'une structure à FINESS : le premier non vide du fichier (l'upsert le pose à
# la création, puis le complète s'il manquait) ; s'il est revendiqué par plusieurs FINESS, la
# première ligne l'emporte et les autres restent sans identifiant technique.
SQL_INITIAL_STRUCTURES_FINESS = f"""
WITH premiers AS (
    SELECT DISTINCT ON (c21) c21, c23, b, n FROM annuaire_lignes
    WHERE c21 <> '' AND c23 <> '' ORDER BY c21, b, n
), identifiants AS (
    SELECT DISTINCT ON (c23) c21 AS finess_eg, c23 AS identifiant_technique FROM premiers ORDER BY c23, b, n
)
INSERT INTO personnes_structure (
    uuid, cree_le, modifie_le, finess_eg, identifiant_technique, {_liste("", _CHAMPS_STRUCTURE_FINESS)},
    categorie_code, categorie_libelle, bal_mssante)
SELECT gen_random_uuid(), now(), now(), source.finess_eg, identifiants.identifiant_technique,
       {_liste("source.", _CHAMPS_STRUCTURE_FINESS)}, '', '', ''
FROM ({_ordonner(_SOURCE_STRUCTURES_FINESS, _DERNIER_LOT)}) source
LEFT JOIN identifiants ON identifiants.finess_eg = source.finess_eg
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée

# Structures sans FINESS ; un identifiant technique déjà porté par une structure à FINESS la désigne
# (les situations d'exercice s'y rattachent, comme dans l'upsert).
SQL_INITIAL_STRUCTURES_TECHNIQUES = f"""
INSERT INTO personnes_structure (
    uuid, cree_le, modifie_le, identifiant_technique, {_liste("", _CHAMPS_STRUCTURE)},
    finess_cle_verifiee, categorie_code, categorie_libelle, bal_mssante)
SELECT gen_random_uuid(), now(), now(), identifiant_technique, {_liste("", _CHAMPS_STRUCTURE)}, true,
       '', '', ''
FROM ({_ordonner(_SOURCE_STRUCTURES_TECHNIQUES, _DERNIER_LOT)}) source
WHERE NOT EXISTS (SELECT 1 FROM personnes_structure s
                  WHERE s.identifiant_technique = source.identifiant_technique)
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée

SQL_INITIAL_EXERCICES = f"""
INSERT INTO personnes_exercice (
    uuid, cree_le, modifie_le, professionnel_id, structure_id, profession_code, fonction,
    {_liste("", _CHAMPS_EXERCICE)})
SELECT gen_random_uuid(), now(), now(), professionnel_id, structure_id, profession_code, '',
       {_liste("", _CHAMPS_EXERCICE)}
FROM ({_ordonner(_SOURCE_EXERCICES, "l.b DESC, l.n")}) source
"""  # noqa: S608 - fragments SQL constants, aucune donnée interpolée

# Une seule transaction : la validation n'attend pas le disque, et les tris, jointures par hachage
# et constructions d'index ont de la mémoire (côté serveur).
SQL_REGLAGES_INITIAL = (
    "SET LOCAL synchronous_commit TO off; SET LOCAL work_mem TO '128MB'; "
    "SET LOCAL maintenance_work_mem TO '256MB'"
)

MESSAGE_TABLES_NON_VIDES = (
    "Chargement initial impossible : les tables des professionnels, des structures et des situations "
    "d'exercice doivent être vides ; relancez sans --chargement-initial pour un import incrémental."
)


def tables_vides() -> bool:
    """Vrai si les trois tables alimentées par l'import sont vides."""
    with connection.cursor() as curseur:
        curseur.execute(f"SELECT {SQL_TABLES_VIDES}")  # noqa: S608 - noms de tables constants
        return curseur.fetchone()[0]


def _retirer_index_et_contraintes(curseur) -> list[str]:
    """Retire index secondaires, contraintes d'unicité et clés étrangères des trois tables ;
    renvoie les ordres qui les recréent à l'identique (index et unicités d'abord, clés étrangères
    ensuite). Définitions lues dans le catalogue avant tout retrait."""
    parametres = {"tables": list(TABLES_CIBLES)}
    curseur.execute(SQL_CONTRAINTES_A_RETIRER, parametres)
    contraintes = curseur.fetchall()
    curseur.execute(SQL_INDEX_A_RETIRER, parametres)
    index = curseur.fetchall()
    for retrait, _ in [*reversed(contraintes), *index]:  # clés étrangères d'abord
        curseur.execute(retrait)
    return [creation for _, creation in index] + [creation for _, creation in contraintes]


def _executer_compte(curseur, requete: str, uuid_sql: str) -> int:
    _executer(curseur, requete, uuid_sql)
    return curseur.rowcount


class _FluxImpossible(Exception):
    """Le chargement en flux ne peut pas reproduire le résultat du chargement par table temporaire
    (identifiant technique d'une structure sans FINESS revendiqué ensuite par une structure à FINESS) :
    on annule jusqu'au point de sauvegarde et on recharge par la table temporaire."""


_COLONNES_FLUX_PROFESSIONNEL = (
    f"(id, uuid, cree_le, modifie_le, idnat_ps, {_liste('', _CHAMPS_PROFESSIONNEL)}, bal_mssante, telephone)"
)
_COLONNES_FLUX_STRUCTURE_FINESS = (
    "(id, uuid, cree_le, modifie_le, finess_eg, identifiant_technique, "
    f"{_liste('', _CHAMPS_STRUCTURE_FINESS)}, categorie_code, categorie_libelle, bal_mssante)"
)
_COLONNES_FLUX_STRUCTURE_TECHNIQUE = (
    f"(id, uuid, cree_le, modifie_le, identifiant_technique, {_liste('', _CHAMPS_STRUCTURE)}, "
    "finess_cle_verifiee, categorie_code, categorie_libelle, bal_mssante)"
)
_COLONNES_FLUX_EXERCICE = (
    f"(id, uuid, cree_le, modifie_le, professionnel_id, structure_id, profession_code, fonction, "
    f"{_liste('', _CHAMPS_EXERCICE)})"
)
_CODE_POSTAL_EN_TETE = re.compile(r"^[0-9]{5} *")
_SIRET = re.compile(r"[0-9]{14}")
_VARIANTE = "89ab89ab89ab89ab"
_TAB = "\t"
_NUL = "\\N"


def _uuids_v7(nombre: int) -> list[str]:
    """`nombre` UUID de version 7 (RFC 9562) : milliseconde courante puis 74 bits aléatoires, comme
    `uuidv7()` de PostgreSQL, sans aller-retour vers le serveur."""
    prefixe = f"{time.time_ns() // 1_000_000:012x}7"
    aleas = os.urandom(10 * nombre).hex()
    return [
        f"{prefixe}{aleas[i : i + 3]}{_VARIANTE[int(aleas[i + 3], 16)]}{aleas[i + 4 : i + 19]}"
        for i in range(0, 20 * nombre, 20)
    ]


def _valeurs_structure(v: tuple) -> tuple:
    """Champs d'une structure (_CHAMPS_STRUCTURE), calculés comme _SELECTION_STRUCTURE."""
    c19, c22, c23, c24, c25, c27, c28, c29, c31, c32, c33, c34, c35, c36, c37, c40 = (
        v[10], v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19], v[20], v[21], v[22], v[23],
        v[24], v[25], v[26],
    )  # fmt: skip
    voie = " ".join(x for x in (c28, c29, c31, c32) if x)
    return (
        # COALESCE(NULLIF(c24, ''), NULLIF(c25, ''), c23, c21) : c23 n'est jamais NULL (COPY texte).
        (c24 or c25 or c23)[:200],
        c25[:200],
        ", ".join(x for x in (c27, voie, c33) if x)[:250],
        c35[:5],
        (c37 or _CODE_POSTAL_EN_TETE.sub("", c34, count=1))[:120],
        c36[:5],
        c40[:20],
        c19 if _SIRET.fullmatch(c19) else "",
        c22,
    )


def _echapper(valeurs: tuple) -> tuple:
    """Échappement COPY (format texte) des valeurs d'une ligne marquée « e » (rare)."""
    return tuple(
        v.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r") if isinstance(v, str) else v
        for v in valeurs
    )


def _e1(valeur: str) -> str:
    return valeur.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r")


def _copier_lignes(curseur_psycopg, table: str, colonnes: str, lignes: list[str]) -> None:
    """Un COPY (format texte, tabulations) de lignes déjà formatées et échappées."""
    if not lignes:
        return
    texte = "".join(lignes)
    with curseur_psycopg.copy(f"COPY {table} {colonnes} FROM STDIN") as copie:
        for debut in range(0, len(texte), TAILLE_MORCEAU_COPY):
            copie.write(texte[debut : debut + TAILLE_MORCEAU_COPY])


class _CopiesEnFond(threading.Thread):
    """Envoie les COPY du chargement en flux sur la connexion de la transaction pendant que le fil
    principal prépare le lot suivant (le fil principal n'utilise pas la connexion entre-temps) :
    le serveur insère pendant que Python lit et dédoublonne. File bornée à deux lots."""

    def __init__(self, curseur_psycopg) -> None:
        super().__init__(name="copies-annuaire", daemon=True)
        self.curseur = curseur_psycopg
        self.file: queue.Queue = queue.Queue(maxsize=2)
        self.erreur: BaseException | None = None

    def run(self) -> None:
        while (copies := self.file.get()) is not _FIN:
            if self.erreur is not None:
                continue
            try:
                for table, colonnes, lignes in copies:
                    _copier_lignes(self.curseur, table, colonnes, lignes)
            except BaseException as exc:  # transmis au fil principal
                self.erreur = exc

    def confier(self, copies: list) -> None:
        if self.erreur is not None:
            raise self.erreur
        self.file.put(copies)

    def terminer(self) -> None:
        self.file.put(_FIN)
        self.join()
        if self.erreur is not None:
            raise self.erreur


def _premier_identifiant(curseur, table: str) -> tuple[str, int]:
    curseur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = curseur.fetchone()[0]
    curseur.execute("SELECT nextval(%s)", [sequence])
    return sequence, curseur.fetchone()[0]


def _charger_en_flux(curseur, lecture: _Lecture, rapport: RapportImport) -> None:
    """Chargement initial en flux : COPY direct dans les tables finales pendant la lecture.

    Identifiants attribués ici à partir des séquences (recalées à la fin), UUID v7 calculés ici.
    Mêmes valeurs que le chargement par table temporaire (« le dernier lot qui contient la clé
    l'emporte, et dans ce lot sa première ligne ») : les lignes d'un professionnel se suivent (fichier
    trié par idNat_PS), donc un professionnel et ses situations d'exercice sont écrits dès que
    l'idNat_PS change ; sinon le même professionnel serait écrit deux fois et l'index unique recréé
    ensuite le refuserait (l'appelant se replie alors sur la table temporaire). Les structures sont
    écrites avec le lot où elles apparaissent ; un dictionnaire clé → (identifiant, empreinte des
    valeurs) les dédoublonne, et une structure reprise dans un lot ultérieur avec d'autres valeurs, ou
    dont l'identifiant technique n'apparaît que plus loin, est mise à jour à la fin (cas rare). Lève
    _FluxImpossible si un identifiant technique déjà utilisé par une structure sans FINESS est
    revendiqué ensuite par une structure à FINESS.
    """
    c = curseur.cursor
    curseur.execute("SELECT now()::text")
    maintenant = curseur.fetchone()[0]
    horodatage = f"{maintenant}\t{maintenant}"  # cree_le, modifie_le
    sequences, suivants = {}, {}
    for table in TABLES_CIBLES:
        sequences[table], suivants[table] = _premier_identifiant(curseur, table)
    id_pro, id_str, id_ex = (suivants[t] for t in TABLES_CIBLES)
    # FINESS site → [id, dernier lot, empreinte des valeurs écrites, identifiant technique (None : aucun,
    # "" : encore inconnu), identifiant technique écrit, empreinte des colonnes brutes de la structure].
    # Seules des empreintes (hash) sont gardées : ~200 000 structures à l'échelle M, leurs valeurs
    # complètes coûteraient ~150 Mo.
    par_finess: dict[str, list] = {}
    revendiques: dict[str, int] = {}  # identifiant technique → id de la structure à FINESS qui le porte
    # identifiant technique (sans FINESS) → [id, lot, empreinte des valeurs, empreinte des colonnes brutes]
    techniques: dict[str, list] = {}
    # Structures créées dans le lot courant (écrites avec lui) ; valeurs changées par un lot ultérieur.
    structures_finess: list = []
    structures_techniques: list = []
    corrections_finess: dict[int, tuple] = {}
    corrections_techniques: dict[int, tuple] = {}
    courant, lot_pro, valeurs_pro, exercices_pro = "", 0, None, {}
    professionnels: list = []
    exercices: list = []

    def terminer_professionnel() -> None:
        nonlocal id_pro, id_ex
        if valeurs_pro is None:
            return
        professionnels.append((id_pro, courant, valeurs_pro))
        for (structure_id, code), (_, valeurs) in exercices_pro.items():
            exercices.append((id_ex, id_pro, structure_id, code, valeurs))
            id_ex += 1
        id_pro += 1

    def ecrire() -> None:
        copies: list = []
        uuids = iter(_uuids_v7(len(professionnels) + len(exercices) + len(structures_finess)
                               + len(structures_techniques)))  # fmt: skip
        for _, structure, _ in structures_finess:
            structure[4] = structure[3] or None
        copies.append(("personnes_structure", _COLONNES_FLUX_STRUCTURE_FINESS, [
            f"{structure[0]}\t{next(uuids)}\t{horodatage}\t{finess}\t"
            f"{_NUL if structure[4] is None else _e1(structure[4])}\t"
            f"{_TAB.join(valeurs[:-1])}\t{'t' if valeurs[-1] else 'f'}\t\t\t\n"
            for finess, structure, valeurs in structures_finess
        ]))  # fmt: skip
        copies.append(("personnes_structure", _COLONNES_FLUX_STRUCTURE_TECHNIQUE, [
            f"{structure[0]}\t{next(uuids)}\t{horodatage}\t{_e1(technique)}\t{_TAB.join(valeurs)}\tt\t\t\t\n"
            for technique, structure, valeurs in structures_techniques
        ]))  # fmt: skip
        copies.append(("personnes_professionnel", _COLONNES_FLUX_PROFESSIONNEL, [
            f"{ident}\t{next(uuids)}\t{horodatage}\t{idnat}\t{_TAB.join(valeurs)}\t\t\n"
            for ident, idnat, valeurs in professionnels
        ]))  # fmt: skip
        copies.append(("personnes_exercice", _COLONNES_FLUX_EXERCICE, [
            f"{ident}\t{next(uuids)}\t{horodatage}\t{pro}\t"
            f"{_NUL if structure is None else structure}\t{code}\t\t"
            f"{_TAB.join(valeurs)}\n"
            for ident, pro, structure, code, valeurs in exercices
        ]))  # fmt: skip
        envoi.confier(copies)
        structures_finess.clear()
        structures_techniques.clear()
        rapport.professionnels_crees += len(professionnels)
        rapport.exercices_crees += len(exercices)
        professionnels.clear()
        exercices.clear()

    envoi = _CopiesEnFond(c)
    envoi.start()
    try:
        for numero_lot, lot in enumerate(lecture.lots(), start=1):
            for _numero, drapeaux, ligne in lot.lignes:
                v = _extraire_personnes(ligne.split("|"))  # déjà validée par le fil de lecture
                idnat = v[0]
                if idnat != courant:
                    terminer_professionnel()
                    courant, exercices_pro, valeurs_pro = idnat, {}, None
                if valeurs_pro is None or lot_pro != numero_lot:
                    lot_pro = numero_lot
                    valeurs_pro = (v[1][:10], v[2][:100], v[3][:100], v[4][:4], v[5][:120], v[6][:1],
                                   v[7][:10], v[8][:200])  # fmt: skip
                    if "e" in drapeaux:
                        valeurs_pro = _echapper(valeurs_pro)
                c21, c23 = v[11], v[13]
                if c21:
                    structure = par_finess.get(c21)
                    if structure is None:
                        valeurs = (*_valeurs_structure(v), "f" not in drapeaux)
                        structure = par_finess[c21] = [id_str, numero_lot, hash(valeurs), "", None,
                                                       hash((drapeaux, v[10:27]))]  # fmt: skip
                        structures_finess.append(
                            (c21, structure, _echapper(valeurs) if "e" in drapeaux else valeurs)
                        )
                        id_str += 1
                    elif structure[1] != numero_lot:
                        structure[1] = numero_lot
                        brut = hash((drapeaux, v[10:27]))  # même ligne brute : mêmes valeurs, rien à calculer
                        if brut != structure[5]:
                            structure[5] = brut
                            valeurs = (*_valeurs_structure(v), "f" not in drapeaux)
                            if hash(valeurs) != structure[2]:
                                structure[2] = hash(valeurs)
                                corrections_finess[structure[0]] = valeurs
                    if c23 and structure[3] == "":
                        if c23 in techniques:
                            raise _FluxImpossible("identifiant technique revendiqué après coup")
                        if c23 in revendiques:
                            structure[3] = None
                        else:
                            structure[3] = c23
                            revendiques[c23] = structure[0]
                    structure_id = structure[0]
                elif c23:
                    structure_id = revendiques.get(c23)
                    if structure_id is None:
                        structure = techniques.get(c23)
                        if structure is None:
                            valeurs = _valeurs_structure(v)
                            structure = techniques[c23] = [id_str, numero_lot, hash(valeurs), hash(v[10:27])]
                            structures_techniques.append(
                                (c23, structure, _echapper(valeurs) if "e" in drapeaux else valeurs)
                            )
                            id_str += 1
                        elif structure[1] != numero_lot:
                            structure[1] = numero_lot
                            brut = hash(v[10:27])
                            if brut != structure[3]:
                                structure[3] = brut
                                valeurs = _valeurs_structure(v)
                                if hash(valeurs) != structure[2]:
                                    structure[2] = hash(valeurs)
                                    corrections_techniques[structure[0]] = valeurs
                        structure_id = structure[0]
                else:
                    structure_id = None
                cle = (structure_id, v[4][:4])
                exercice = exercices_pro.get(cle)
                if exercice is None or exercice[0] != numero_lot:
                    mode = v[9] if v[9] in ("L", "S", "B") else ""
                    valeurs = (v[5][:120], mode, v[27][:6])
                    exercices_pro[cle] = (numero_lot, _echapper(valeurs) if "e" in drapeaux else valeurs)
            ecrire()
            rapport.lignes_importees += lot.nb_lignes
            rapport.lots = numero_lot
        lecture.terminer()
        terminer_professionnel()
        ecrire()
    finally:
        envoi.terminer()
    # Structures reprises dans un lot ultérieur avec d'autres valeurs (« le dernier lot l'emporte »),
    # identifiant technique connu après l'écriture de la structure : rares, mis à jour ici.
    c.executemany(
        f"UPDATE personnes_structure SET {', '.join(f'{champ} = %s' for champ in _CHAMPS_STRUCTURE_FINESS)} "  # noqa: S608
        "WHERE id = %s",
        [(*valeurs, ident) for ident, valeurs in corrections_finess.items()],
    )
    c.executemany(
        f"UPDATE personnes_structure SET {', '.join(f'{champ} = %s' for champ in _CHAMPS_STRUCTURE)} "  # noqa: S608
        "WHERE id = %s",
        [(*valeurs, ident) for ident, valeurs in corrections_techniques.items()],
    )
    c.executemany(
        "UPDATE personnes_structure SET identifiant_technique = %s WHERE id = %s",
        [(s[3], s[0]) for s in par_finess.values() if s[3] and s[3] != s[4]],
    )
    rapport.structures_creees = len(par_finess) + len(techniques)
    for table, dernier in zip(TABLES_CIBLES, (id_pro, id_str, id_ex), strict=True):
        if dernier > suivants[table]:
            curseur.execute("SELECT setval(%s, %s, true)", [sequences[table], dernier - 1])
        else:
            curseur.execute("SELECT setval(%s, %s, false)", [sequences[table], suivants[table]])


def _charger_par_table_temporaire(curseur, lecture: _Lecture, rapport: RapportImport, uuid_sql: str) -> None:
    """Chargement initial par table temporaire et INSERT … SELECT DISTINCT ON (tout fichier)."""
    curseur.execute(f"DROP TABLE IF EXISTS {TABLE_LIGNES}")
    curseur.execute(SQL_TABLE_INITIALE)
    for numero, lot in enumerate(lecture.lots(), start=1):
        curseur.execute("SELECT set_config('annuaire.lot', %s, true)", [str(numero)])
        _copier(curseur.cursor, lot.texte, _COLONNES_COPIE)
        rapport.lignes_importees += lot.nb_lignes
        rapport.lots = numero
    lecture.terminer()  # une erreur de lecture annule tout, avant la moindre insertion
    # Statistiques de la table temporaire (un échantillon) : jointures par hachage plutôt que trois
    # tris de toutes les lignes pour des jointures par fusion.
    curseur.execute(f"ANALYZE {TABLE_LIGNES}")
    rapport.professionnels_crees = _executer_compte(curseur, SQL_INITIAL_PROFESSIONNELS, uuid_sql)
    rapport.structures_creees = _executer_compte(curseur, SQL_INITIAL_STRUCTURES_FINESS, uuid_sql)
    rapport.structures_creees += _executer_compte(curseur, SQL_INITIAL_STRUCTURES_TECHNIQUES, uuid_sql)
    rapport.exercices_crees = _executer_compte(curseur, SQL_INITIAL_EXERCICES, uuid_sql)
    curseur.execute(f"DROP TABLE {TABLE_LIGNES}")


def _remettre_a_zero(rapport: RapportImport) -> None:
    neuf = RapportImport(fichier=rapport.fichier, mode=rapport.mode, chargement=rapport.chargement)
    for champ in fields(RapportImport):
        setattr(rapport, champ.name, getattr(neuf, champ.name))


def _charger_initialement(lecture: _Lecture, rapport: RapportImport) -> None:
    """Chemin du chargement initial (voir plus haut) ; lève ErreurImport si une table n'est pas vide.
    `lecture` doit avoir été créée avec `valeurs=True` (chargement en flux)."""
    with transaction.atomic(), connection.cursor() as curseur:
        curseur.execute(SQL_REGLAGES_INITIAL)
        curseur.execute(f"LOCK TABLE {', '.join(TABLES_CIBLES)} IN ACCESS EXCLUSIVE MODE")
        curseur.execute(f"SELECT {SQL_TABLES_VIDES}")  # noqa: S608 - noms de tables constants
        if not curseur.fetchone()[0]:
            raise ErreurImport(MESSAGE_TABLES_NON_VIDES)
        uuid_sql = fonction_uuid(curseur)
        a_recreer = _retirer_index_et_contraintes(curseur)
        try:
            with transaction.atomic():  # point de sauvegarde : le repli repart des tables vides
                rapport.chargement = "flux"
                _charger_en_flux(curseur, lecture, rapport)
                # L'index unique de l'idNat_PS, recréé ici, prouve que chaque professionnel n'a été
                # écrit qu'une fois, donc que ses lignes se suivaient (fichier trié par idNat_PS).
                for creation in a_recreer:
                    curseur.execute(creation)
        except (_FluxImpossible, IntegrityError):
            # Fichier non trié (un idNat_PS repris plus loin : doublon refusé par l'index unique) ou
            # identifiant technique revendiqué après coup : on relit le fichier par la table temporaire.
            lecture.recommencer(valeurs=False)
            rapport.chargement = "table_temporaire"
            _remettre_a_zero(rapport)
            _charger_par_table_temporaire(curseur, lecture, rapport, uuid_sql)
            for creation in a_recreer:
                curseur.execute(creation)
        curseur.execute(f"ANALYZE {', '.join(TABLES_CIBLES)}")


def _importer_par_lots(lecture: _Lecture, rapport: RapportImport, parallele: bool) -> None:
    """Chemin incrémental : upserts lot par lot, chaque lot dans sa transaction."""
    ecrivain = None
    with connection.cursor() as curseur:
        curseur.execute(SQL_TABLE)
        uuid_sql = fonction_uuid(curseur)
        if parallele:
            parametres = connection.get_connection_params()
            for cle in ("cursor_factory", "context"):
                parametres.pop(cle, None)
            ecrivain = _EcrivainExercices(parametres, rapport, uuid_sql)
            ecrivain.start()
        try:
            for lot in lecture.lots():
                if ecrivain is None:
                    _ecrire_lot(curseur, lot, rapport, uuid_sql)
                    continue
                if ecrivain.erreur is not None:
                    break
                with transaction.atomic():
                    curseur.execute(SQL_REGLAGES_LOT)
                    _copier_lot(curseur.cursor, lot.texte)
                    _ecrire_personnes(curseur, rapport, uuid_sql)
                ecrivain.confier(lot)
        finally:
            if ecrivain is not None:
                ecrivain.terminer()
            if connection.is_usable():
                curseur.execute(f"DROP TABLE IF EXISTS {TABLE_LIGNES}")
    lecture.terminer()


def importer_annuaire(
    chemin: str | os.PathLike,
    *,
    encodage: str = "utf-8",
    taille_lot: int = TAILLE_LOT_DEFAUT,
    signaler: Callable[[str], None] | None = None,
    parallele: bool | None = None,
    chargement_initial: bool | None = None,
) -> RapportImport:
    """Importe le fichier et journalise UN événement « annuaire.import » (succès ou échec).

    `signaler` reçoit, au fil de l'eau, chaque ligne rejetée et chaque avertissement (en français).
    `chargement_initial` : None (défaut) = chargement initial si les trois tables sont vides, import
    incrémental sinon ; True = chargement initial exigé (ErreurImport si une table n'est pas vide) ;
    False = import incrémental même sur des tables vides.
    `parallele` (import incrémental ; par défaut : hors transaction englobante) écrit les situations
    d'exercice sur une seconde connexion, en parallèle ; dans une transaction englobante (tests,
    appelant en `atomic`), tout passe par la connexion courante, lot par lot.
    Lève ErreurImport si le fichier est inutilisable ; les lignes mal formées ne l'arrêtent pas.
    """
    chemin = Path(chemin)
    if taille_lot < 1:
        raise ErreurImport("Taille de lot : elle doit être d'au moins 1 ligne.")
    if not chemin.is_file():
        raise ErreurImport(f"Fichier introuvable : {chemin}")
    initial = tables_vides() if chargement_initial is None else chargement_initial
    if chargement_initial and not tables_vides():
        raise ErreurImport(MESSAGE_TABLES_NON_VIDES)
    if parallele is None:
        parallele = not connection.in_atomic_block
    rapport = RapportImport(fichier=chemin.name, mode="chargement_initial" if initial else "")
    debut = time.monotonic()
    lecture = _Lecture(
        chemin, rapport, encodage=encodage, taille_lot=taille_lot, signaler=signaler,
        texte_exercices=parallele and not initial, valeurs=initial,
    )  # fmt: skip
    try:
        if initial:
            _charger_initialement(lecture, rapport)
        else:
            _importer_par_lots(lecture, rapport, parallele)
    except BaseException as exc:
        lecture.arreter()
        rapport.duree_s = time.monotonic() - debut
        # ErreurImport : fichier inutilisable ou tables non vides, l'import n'a pas commencé.
        if not isinstance(exc, ErreurImport | KeyboardInterrupt):
            _journaliser(rapport, "echec", erreur=f"{type(exc).__name__} : {exc}"[:500])
        raise
    rapport.duree_s = time.monotonic() - debut
    _journaliser(rapport, "succes")
    return rapport


def _journaliser(rapport: RapportImport, resultat: str, erreur: str = "") -> None:
    from coordination.comptes.acteur import acteur_systeme
    from coordination.journal.services import journaliser

    details = rapport.compteurs()
    if erreur:
        details["erreur"] = erreur
    if connection.needs_rollback or not connection.is_usable():
        return
    journaliser(
        acteur=acteur_systeme("import_annuaire"),
        action="annuaire.import",
        resultat=resultat,
        details=details,
    )
