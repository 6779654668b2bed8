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
(identifiants et UUID attribués en Python, dans un processus de préparation séparé qui lit, valide et
formate pendant que le processus principal envoie les COPY), index et contraintes recréés à
l'identique ; repli sur une table temporaire et des insertions ensemblistes si le fichier n'est pas
trié par idNat_PS (voir « Chargement initial » plus bas).

Une clé de contrôle (RPPS, ADELI ou FINESS) fausse dans l'extraction officielle est signalée mais la
ligne est importée : les identifiants de l'extraction officielle font foi (interop.md §1.3).
"""

from __future__ import annotations

import contextlib
import operator
import os
import pickle
import queue
import re
import subprocess
import sys
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

_DOUBLE = str.maketrans("0123456789", "0246813579")  # chiffre doublé, ramené à un chiffre (2×7=14 → 5)


def luhn_valide(chiffres: str) -> bool:
    """Clé de Luhn d'une chaîne de chiffres (déjà vérifiée comme telle). Les sommes portent sur les
    octets ASCII (« 0 » = 48), calculées en C : trois fois plus rapide que chiffre par chiffre."""
    somme = sum(chiffres[-1::-2].encode()) + sum(chiffres[-2::-2].translate(_DOUBLE).encode())
    return (somme - 48 * len(chiffres)) % 10 == 0


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
    return _CLE_VERIFIEE


_CLE_VERIFIEE = (True, None)  # résultat ordinaire de verifier_finess (rien à signaler)


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


# --- Lecture et validation ----------------------------------------------------------------------


@dataclass
class Lot:
    # Lignes au format COPY texte (séparateur « | ») : numéro de ligne, COLONNES_PERSONNES, drapeaux.
    texte: str
    nb_lignes: int
    premiere_ligne: int
    derniere_ligne: int
    # Mode parallèle : numéro de ligne et COLONNES_EXERCICES, pour la seconde connexion.
    texte_exercices: str = ""


_FIN = object()
TAILLE_BLOC = 1 << 20  # octets lus d'un coup, découpés en lignes et décodés ensemble


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


class Signalements:
    """Lignes rejetées et avertissements : comptés dans le rapport, gardés (les MESSAGES_GARDES premiers)
    et passés à `signaler`, sauf ceux des lignes déjà signalées par une lecture précédente (numéro
    ≤ `deja_signalees` : relecture après un chargement en flux abandonné)."""

    def __init__(
        self, rapport: RapportImport, signaler: Callable[[str], None] | None = None, deja_signalees: int = 0
    ) -> None:
        self.rapport, self.signaler, self.deja_signalees = rapport, signaler, deja_signalees

    def rejeter(self, numero: int, motif: str) -> None:
        self.rapport.lignes_rejetees += 1
        if len(self.rapport.rejets) < MESSAGES_GARDES:
            self.rapport.rejets.append((numero, motif))
        if self.signaler is not None and numero > self.deja_signalees:
            self.signaler(f"Ligne {numero} rejetée : {motif}")

    def alerter(self, numero: int, motif: str) -> None:
        self.rapport.avertissements += 1
        if len(self.rapport.alertes) < MESSAGES_GARDES:
            self.rapport.alertes.append((numero, motif))
        if self.signaler is not None and numero > self.deja_signalees:
            self.signaler(f"Ligne {numero} (avertissement) : {motif}")


def _blocs(fichier, encodage: str):
    """Les lignes après l'en-tête, par blocs : (lignes décodées sans fin de ligne, caractères rares
    présents) ; None pour une ligne illisible dans l'encodage. Blocs de TAILLE_BLOC octets coupés après
    le dernier « \\n » (sûr pour l'UTF-8 comme pour le latin-1), décodés et découpés d'un coup ; « \\r »,
    NUL, « \\ » et tabulation ne sont cherchés ligne à ligne que dans les blocs qui en contiennent."""
    reste = b""
    while True:
        bloc = fichier.read(TAILLE_BLOC)
        if bloc:
            coupure = bloc.rfind(b"\n") + 1
            if not coupure:
                reste += bloc
                continue
            bloc, reste = reste + bloc[:coupure], bloc[coupure:]
        elif reste:
            bloc, reste = reste + b"\n", b""  # dernière ligne sans fin de ligne
        else:
            return
        try:
            texte = bloc.decode(encodage)
        except UnicodeDecodeError:
            lignes = []
            for brute in bloc.split(b"\n"):
                try:
                    lignes.append(brute.decode(encodage))
                except UnicodeDecodeError:
                    lignes.append(None)
            rares = True
        else:
            lignes = texte.split("\n")
            rares = "\r" in texte or "\x00" in texte or "\\" in texte or "\t" in texte
        lignes.pop()  # après le dernier « \\n »
        if rares:
            lignes = [ligne if ligne is None else ligne.rstrip("\r") for ligne in lignes]
        yield lignes, rares


def lignes_valides(
    chemin: Path,
    rapport: RapportImport,
    rejeter: Callable[[int, str], None],
    alerter: Callable[[int, str], None],
    encodage: str = "utf-8",
):
    """Générateur des lignes valides : (numéro, drapeaux, colonnes). Une ligne valide a exactement 52
    colonnes, chacune suivie de « | » (comme l'en-tête) : sans le « | » final, une colonne manquante
    passerait inaperçue. Les autres sont passées à `rejeter` (numéro, motif), et les anomalies qui
    n'empêchent pas l'import à `alerter`, dans l'ordre des lignes. `drapeaux` contient « f » quand la
    clé du FINESS site n'a pas pu être vérifiée (Corse ou clé fausse), « e » quand la ligne contient un
    caractère à échapper pour COPY (« \\ », tabulation, « \\r »). Tient `rapport.lignes_lues` à jour.

    Chemin rapide : une ligne sans rien à signaler (le cas ordinaire) passe une suite de tests simples ;
    à la moindre anomalie, `examiner` refait toutes les vérifications dans l'ordre des messages. Les
    résultats de l'idNat_PS (ligne précédente, souvent le même professionnel) et des FINESS (cache) ne
    sont calculés qu'une fois."""
    cache_finess: dict[str, tuple[bool, str | None]] = {}

    def finess(valeur: str, colonne: str) -> tuple[bool, str | None]:
        resultat = cache_finess.get(valeur)
        if resultat is None:
            resultat = verifier_finess(valeur, colonne)
            if len(cache_finess) > 500_000:
                cache_finess.clear()
            cache_finess[valeur] = resultat
        return resultat

    def examiner(numero: int, champs: list[str], verdict: str | LigneRejetee | None) -> str | None:
        """Toutes les vérifications d'une ligne de 52 colonnes, dans l'ordre ; drapeaux, ou None si
        la ligne est rejetée. `verdict` : celui de verifier_idnat (None, avertissement ou rejet)."""
        idnat = champs[I_IDNAT]
        try:
            if isinstance(verdict, LigneRejetee):
                raise verdict
            if verdict is not None:
                alerter(numero, verdict)
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
                    f"Identifiant technique de la structure : plus de {LONGUEUR_MAX_ID_TECHNIQUE} caractères."
                )
            if champs[I_MODE] not in MODES_EXERCICE:
                alerter(
                    numero,
                    f"Code mode exercice « {champs[I_MODE]} » inconnu (attendu L, S ou B) ; "
                    "situation d'exercice importée sans mode.",
                )
        except LigneRejetee as exc:
            rejeter(numero, str(exc))
            return None
        return drapeaux

    idnat_precedent, verdict = None, None
    with open(chemin, "rb") as fichier:
        brute = fichier.readline()
        try:
            _verifier_entete(brute.decode(encodage))
        except UnicodeDecodeError as exc:
            raise ErreurImport(f"En-tête illisible en {encodage} : {exc.reason}.") from exc
        numero = 1
        for lignes, rares in _blocs(fichier, encodage):
            for ligne in lignes:
                numero += 1
                rapport.lignes_lues = numero - 1
                if rares:
                    if ligne is None:
                        rejeter(numero, f"ligne illisible en {encodage} (caractères invalides).")
                        continue
                    if "\x00" in ligne:
                        rejeter(numero, "caractère nul dans la ligne.")
                        continue
                champs = ligne.split("|")
                if len(champs) != NB_COLONNES + 1 or champs[NB_COLONNES]:
                    if not ligne.strip():
                        rejeter(numero, "ligne vide.")
                    elif champs[-1] != "":
                        rejeter(
                            numero,
                            f"la ligne doit se terminer par « | » ({len(champs)} colonnes lues, "
                            f"{NB_COLONNES} attendues).",
                        )
                    else:
                        rejeter(numero, f"{len(champs) - 1} colonnes au lieu de {NB_COLONNES}.")
                    continue
                idnat = champs[I_IDNAT]
                if idnat != idnat_precedent:
                    idnat_precedent = idnat
                    try:
                        verdict = verifier_idnat(idnat)
                    except LigneRejetee as exc:
                        verdict = exc
                site, ej = champs[I_FINESS_SITE], champs[I_FINESS_EJ]
                if (
                    verdict is None
                    and champs[I_TYPE_ID] + champs[I_ID_PP] == idnat
                    and champs[I_NOM].strip()
                    and (not site or cache_finess.get(site) is _CLE_VERIFIEE)
                    and (not ej or cache_finess.get(ej) is _CLE_VERIFIEE)
                    and len(champs[I_ID_TECHNIQUE]) <= LONGUEUR_MAX_ID_TECHNIQUE
                    and champs[I_MODE] in MODES_EXERCICE
                ):
                    drapeaux = ""
                else:
                    drapeaux = examiner(numero, champs, verdict)
                    if drapeaux is None:
                        continue
                if rares and ("\\" in ligne or "\t" in ligne or "\r" in ligne):
                    drapeaux += "e"
                yield numero, drapeaux, champs
        rapport.lignes_lues = numero - 1


def lire_lots(
    chemin: Path,
    rapport: RapportImport,
    *,
    encodage: str = "utf-8",
    taille_lot: int = TAILLE_LOT_DEFAUT,
    signaler: Callable[[str], None] | None = None,
    texte_exercices: bool = False,
    deja_signalees: int = 0,
):
    """Générateur de lots prêts pour COPY (import incrémental, chargement par table temporaire).
    Met à jour `rapport` (lignes lues, rejets, alertes ; voir Signalements pour `deja_signalees`).

    Une ligne COPY : « numéro|c2|c3|c7|…|drapeaux » (COLONNES_PERSONNES) ; `drapeaux` contient
    « f » quand la clé du FINESS site n'a pas pu être vérifiée (Corse ou clé fausse).
    Un lot n'est coupé qu'entre deux professionnels (le fichier officiel est trié par identifiant)
    pour que les lignes d'une même personne soient traitées ensemble ; il ne dépasse jamais deux
    fois `taille_lot`.
    """
    signalements = Signalements(rapport, signaler, deja_signalees)
    morceaux: list[str] = []
    morceaux_exercices: list[str] = []
    premiere = numero = 0
    idnat_precedent = ""
    for numero, drapeaux, champs in lignes_valides(
        chemin, rapport, signalements.rejeter, signalements.alerter, encodage
    ):
        idnat = champs[I_IDNAT]
        if morceaux and (
            len(morceaux) >= 2 * taille_lot or (len(morceaux) >= taille_lot and idnat != idnat_precedent)
        ):
            yield Lot("".join(morceaux), len(morceaux), premiere, numero - 1, "".join(morceaux_exercices))
            morceaux, morceaux_exercices = [], []
        if not morceaux:
            premiere = numero
        if drapeaux:
            if "e" in drapeaux:  # seul « \ » est à échapper : « | » sépare déjà les colonnes
                champs = [champ.replace("\\", "\\\\") for champ in champs]
                drapeaux = drapeaux.replace("e", "")
        morceaux.append(f"{numero}|{'|'.join(_extraire_personnes(champs))}|{drapeaux}\n")
        if texte_exercices:
            morceaux_exercices.append(f"{numero}|{'|'.join(_extraire_exercices(champs))}\n")
        idnat_precedent = idnat
    if morceaux:
        yield Lot(
            "".join(morceaux), len(morceaux), premiere, rapport.lignes_lues + 1, "".join(morceaux_exercices)
        )


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
# les trois tables (_charger_en_flux). Un processus à part (_Preparation, _preparer_flux) lit, valide,
# dédoublonne et formate le texte des COPY ; le processus principal les envoie au serveur pendant que
# l'autre prépare le lot suivant : deux cœurs travaillent en Python au lieu d'un seul GIL partagé par
# trois fils. Les index sont recréés dans le même point de sauvegarde. Si l'index unique de l'idNat_PS
# refuse un doublon (fichier non trié) ou qu'un identifiant technique est revendiqué après coup, retour
# au point de sauvegarde et relecture du fichier par le chargement « table temporaire » (fil de
# lecture, lire_lots) : COPY de toutes les lignes dans une table temporaire, puis insertions
# ensemblistes (DISTINCT ON, pas d'ON CONFLICT). Les deux donnent les mêmes valeurs que l'import
# incrémental.

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
    """Retire index secondaires, contraintes d'unicité et clés étrangères des trois tables (et les
    index secondaires de la table des noms) ;
    renvoie les ordres qui les recréent à l'identique (index et unicités d'abord, clés étrangères
    ensuite). Définitions lues dans le catalogue avant tout retrait."""
    parametres = {"tables": list(TABLES_CIBLES)}
    curseur.execute(SQL_CONTRAINTES_A_RETIRER, parametres)
    contraintes = curseur.fetchall()
    # Plus les index GIN de la table des noms, que les déclencheurs remplissent pendant le chargement
    # (ADR 0012) : les construire d'un bloc à la fin coûte bien moins que des centaines de milliers
    # d'insertions d'entrées. Sa clé primaire reste (ON CONFLICT du déclencheur).
    curseur.execute(SQL_INDEX_A_RETIRER, {"tables": [*TABLES_CIBLES, "personnes_nomannuaire"]})
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


# Colonnes des COPY du flux, `uuid` en tête (voir _avec_uuids). Les autres colonnes prennent, le
# temps du chargement, une valeur par défaut (_DEFAUTS_FLUX) : le serveur n'a pas à relire deux
# horodatages par ligne (~1,3 µs de CPU serveur par ligne mesurés), ni des chaînes vides.
_COPIES_FLUX = (
    (
        "personnes_structure",
        f"(uuid, id, finess_eg, identifiant_technique, {_liste('', _CHAMPS_STRUCTURE_FINESS)})",
    ),
    ("personnes_professionnel", f"(uuid, id, idnat_ps, {_liste('', _CHAMPS_PROFESSIONNEL)})"),
    (
        "personnes_exercice",
        f"(uuid, id, professionnel_id, structure_id, profession_code, {_liste('', _CHAMPS_EXERCICE)})",
    ),
)
_DEFAUTS_FLUX = {
    "personnes_structure": ("categorie_code", "categorie_libelle", "bal_mssante"),
    "personnes_professionnel": ("bal_mssante", "telephone"),
    "personnes_exercice": ("fonction",),
}
_CODE_POSTAL_EN_TETE = re.compile(r"^[0-9]{5} *")
_SIRET = re.compile(r"[0-9]{14}")
_MODES_ECRITS = frozenset({"L", "S", "B"})
_TAB = "\t"
_NUL = "\\N"
_VERSION_7 = bytes(0x70 | (octet & 0x0F) for octet in range(256))
_VARIANTE_RFC = bytes(0x80 | (octet & 0x3F) for octet in range(256))


def _uuids_v7(nombre: int) -> list[str]:
    """`nombre` UUID de version 7 (RFC 9562) : milliseconde courante puis 74 bits aléatoires, comme
    `uuidv7()` de PostgreSQL, sans aller-retour vers le serveur ; en 32 chiffres hexadécimaux (forme
    sans tirets, acceptée par PostgreSQL). Fabriqués d'un bloc par tranches d'octets, sans boucle
    Python par UUID."""
    octets = bytearray(os.urandom(16 * nombre))
    for i, octet in enumerate((time.time_ns() // 1_000_000).to_bytes(6, "big")):
        octets[i::16] = bytes((octet,)) * nombre
    octets[6::16] = octets[6::16].translate(_VERSION_7)
    octets[8::16] = octets[8::16].translate(_VARIANTE_RFC)
    return octets.hex(" ", 16).split(" ") if nombre else []


def _valeurs_structure(c: list[str]) -> tuple:
    """Champs d'une structure (_CHAMPS_STRUCTURE) tirés des colonnes d'une ligne, calculés comme
    _SELECTION_STRUCTURE."""
    voie = " ".join(x for x in (c[28], c[29], c[31], c[32]) if x)
    return (
        # COALESCE(NULLIF(c24, ''), NULLIF(c25, ''), c23, c21) : c23 n'est jamais NULL (COPY texte).
        (c[24] or c[25] or c[23])[:200],
        c[25][:200],
        ", ".join(x for x in (c[27], voie, c[33]) if x)[:250],
        c[35][:5],
        (c[37] or _CODE_POSTAL_EN_TETE.sub("", c[34], count=1))[:120],
        c[36][:5],
        c[40][:20],
        c[19] if _SIRET.fullmatch(c[19]) else "",
        c[22],
    )


def _e1(valeur: str) -> str:
    """Échappement COPY (format texte) d'une valeur."""
    return valeur.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r")


def _echapper(valeurs: tuple) -> tuple:
    """Échappement COPY des valeurs d'une ligne marquée « e » (rare)."""
    return tuple(_e1(v) if isinstance(v, str) else v for v in valeurs)


def _avec_uuids(texte: str) -> str:
    """Texte d'un COPY du flux : chaque ligne préparée (qui commence par une tabulation) précédée d'un
    UUID. Fait par le processus principal, qui attend le lot suivant : autant de moins pour le
    processus de préparation, qui fixe le rythme."""
    lignes = texte.split("\n")
    lignes.pop()  # après la dernière fin de ligne
    return "\n".join(map(operator.add, _uuids_v7(len(lignes)), lignes)) + "\n"


def _preparer_flux(chemin: str, encodage: str, taille_lot: int, premiers: tuple, envoyer: Callable) -> None:
    """Préparation du chargement en flux, dans son propre processus (_Preparation) : lit et valide le
    fichier (lignes_valides), attribue les identifiants à partir de `premiers` (professionnel, structure,
    situation d'exercice), dédoublonne et formate le texte des COPY ; `envoyer` reçoit les messages :
    - ("lot", lignes lues, signalements, nb de lignes, (textes COPY sans UUID), professionnels, exercices) ;
    - ("fin", lignes lues, signalements, identifiants suivants, corrections) à la fin du fichier ;
    - ("impossible", lignes lues, signalements) : _FluxImpossible (voir ci-dessous).
    Les signalements (rejet ?, numéro, motif) d'un message sont ceux des lignes lues depuis le précédent.

    Mêmes valeurs que le chargement par table temporaire (« le dernier lot qui contient la clé
    l'emporte, et dans ce lot sa première ligne ») : les lignes d'un professionnel se suivent (fichier
    trié par idNat_PS), donc un professionnel et ses situations d'exercice sont formatés dès que
    l'idNat_PS change ; sinon le même professionnel serait écrit deux fois et l'index unique recréé
    ensuite le refuserait (l'appelant se replie alors sur la table temporaire). Les structures sont
    écrites avec le lot où elles apparaissent ; un dictionnaire clé → (identifiant, empreintes) les
    dédoublonne, et une structure reprise dans un lot ultérieur avec d'autres valeurs, ou dont
    l'identifiant technique n'apparaît que plus loin, est mise à jour à la fin (cas rare). Lève
    _FluxImpossible si un identifiant technique déjà utilisé par une structure sans FINESS est
    revendiqué ensuite par une structure à FINESS.
    """
    rapport = RapportImport()
    signalements: list[tuple[bool, int, str]] = []
    id_pro, id_str, id_ex = premiers
    # FINESS site → [id, dernier lot, empreinte des valeurs écrites, identifiant technique (None : aucun,
    # "" : encore inconnu), identifiant technique écrit, empreinte des colonnes brutes de la structure].
    # Seules des empreintes (hash) sont gardées : ~200 000 structures à l'échelle M, leurs valeurs
    # complètes coûteraient ~150 Mo.
    par_finess: dict[str, list] = {}
    revendiques: dict[str, int] = {}  # identifiant technique → id de la structure à FINESS qui le porte
    # identifiant technique (sans FINESS) → [id, lot, empreinte des valeurs, empreinte des colonnes brutes]
    techniques: dict[str, list] = {}
    corrections_finess: dict[int, tuple] = {}
    corrections_techniques: dict[int, tuple] = {}
    # Lignes du lot en cours : structures créées (formatées à la fin du lot, leur identifiant technique
    # pouvant apparaître plus loin dans le lot), professionnels et situations d'exercice (formatés).
    structures: list[tuple] = []
    professionnels: list[str] = []
    exercices: list[str] = []
    lot, nb_lignes = 1, 0
    lignes_pro: list[tuple] = []  # (lot, drapeaux, colonnes, id de structure) du professionnel en cours

    def terminer_professionnel() -> None:
        nonlocal id_pro, id_ex
        if len(lignes_pro) == 1:
            _, drapeaux, c, structure_id = lignes_pro[0]
            retenues = lignes_pro
        else:  # le dernier lot l'emporte ; dans ce lot, la première ligne (par clé pour les exercices)
            dernier = lignes_pro[-1][0]
            _, drapeaux, c, _ = next(ligne for ligne in lignes_pro if ligne[0] == dernier)
            par_cle: dict[tuple, tuple] = {}
            for ligne in lignes_pro:
                cle = (ligne[3], ligne[2][9][:4])
                deja = par_cle.get(cle)
                if deja is None or deja[0] != ligne[0]:
                    par_cle[cle] = ligne
            retenues = par_cle.values()
        if "e" in drapeaux:
            valeurs = _echapper((c[3][:10], c[7][:100], c[8][:100], c[9][:4], c[10][:120], c[11][:1],
                                 c[15][:10], c[16][:200]))  # fmt: skip
            professionnels.append(f"\t{id_pro}\t{c[2]}\t{_TAB.join(valeurs)}\n")
        else:
            professionnels.append(
                f"\t{id_pro}\t{c[2]}\t{c[3][:10]}\t{c[7][:100]}\t{c[8][:100]}\t{c[9][:4]}\t{c[10][:120]}"
                f"\t{c[11][:1]}\t{c[15][:10]}\t{c[16][:200]}\n"
            )
        for _, drapeaux, c, structure_id in retenues:
            mode = c[17] if c[17] in _MODES_ECRITS else ""
            structure = _NUL if structure_id is None else structure_id
            if "e" in drapeaux:
                valeurs = _echapper((c[9][:4], c[10][:120], mode, c[48][:6]))
                exercices.append(f"\t{id_ex}\t{id_pro}\t{structure}\t{_TAB.join(valeurs)}\n")
            else:
                exercices.append(
                    f"\t{id_ex}\t{id_pro}\t{structure}\t{c[9][:4]}\t{c[10][:120]}\t{mode}\t{c[48][:6]}\n"
                )
            id_ex += 1
        id_pro += 1

    def envoyer_lot() -> None:
        nonlocal lot, nb_lignes
        lignes_structures = []
        for structure, finess, technique, valeurs, echapper in structures:
            if finess is not None:
                technique = structure[4] = structure[3] or None
                cle_verifiee = valeurs[-1]
                valeurs = valeurs[:-1]
            else:
                cle_verifiee = True
            if echapper:
                valeurs = _echapper(valeurs)
            lignes_structures.append(
                f"\t{structure[0]}\t{finess or _NUL}\t{_NUL if technique is None else _e1(technique)}"
                f"\t{_TAB.join(valeurs)}\t{'t' if cle_verifiee else 'f'}\n"
            )
        textes = ("".join(lignes_structures), "".join(professionnels), "".join(exercices))
        envoyer(("lot", rapport.lignes_lues, signalements[:], nb_lignes, textes,
                 len(professionnels), len(exercices)))  # fmt: skip
        signalements.clear()
        structures.clear()
        professionnels.clear()
        exercices.clear()
        lot += 1
        nb_lignes = 0

    courant = None
    for _, drapeaux, c in lignes_valides(
        Path(chemin), rapport, lambda n, m: signalements.append((True, n, m)),
        lambda n, m: signalements.append((False, n, m)), encodage,
    ):  # fmt: skip
        if c[2] != courant:
            if lignes_pro:
                terminer_professionnel()
                lignes_pro = []
            if nb_lignes >= taille_lot:
                envoyer_lot()
            courant = c[2]
        elif nb_lignes >= 2 * taille_lot:
            envoyer_lot()  # le professionnel continue dans le lot suivant
        nb_lignes += 1
        c21, c23 = c[21], c[23]
        if c21:
            structure = par_finess.get(c21)
            if structure is None:
                valeurs = (*_valeurs_structure(c), "f" not in drapeaux)
                structure = par_finess[c21] = [id_str, lot, hash(valeurs), "", None, hash(tuple(c[19:41]))]
                structures.append((structure, c21, None, valeurs, "e" in drapeaux))
                id_str += 1
            elif structure[1] != lot:
                structure[1] = lot
                brut = hash(tuple(c[19:41]))  # même ligne brute : mêmes valeurs, rien à calculer
                if brut != structure[5]:
                    structure[5] = brut
                    valeurs = (*_valeurs_structure(c), "f" not in drapeaux)
                    if hash(valeurs) != structure[2]:
                        structure[2] = hash(valeurs)
                        corrections_finess[structure[0]] = valeurs
            if c23 and structure[3] == "":
                if c23 in techniques:
                    raise _FluxImpossible(rapport.lignes_lues, signalements)
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
                    valeurs = _valeurs_structure(c)
                    structure = techniques[c23] = [id_str, lot, hash(valeurs), hash(tuple(c[19:41]))]
                    structures.append((structure, None, c23, valeurs, "e" in drapeaux))
                    id_str += 1
                elif structure[1] != lot:
                    structure[1] = lot
                    brut = hash(tuple(c[19:41]))
                    if brut != structure[3]:
                        structure[3] = brut
                        valeurs = _valeurs_structure(c)
                        if hash(valeurs) != structure[2]:
                            structure[2] = hash(valeurs)
                            corrections_techniques[structure[0]] = valeurs
                structure_id = structure[0]
        else:
            structure_id = None
        lignes_pro.append((lot, drapeaux, c, structure_id))
    if lignes_pro:
        terminer_professionnel()
    if nb_lignes:
        envoyer_lot()
    identifiants_techniques = [(s[3], s[0]) for s in par_finess.values() if s[3] and s[3] != s[4]]
    envoyer(("fin", rapport.lignes_lues, signalements, (id_pro, id_str, id_ex),
             (corrections_finess, corrections_techniques, identifiants_techniques)))  # fmt: skip


# Amorce du processus de préparation : reçoit sur son entrée standard les chemins d'import du processus
# principal puis ses paramètres, écrit ses messages sur le descripteur passé en argument.
_AMORCE = (
    "import pickle, sys; parametres = pickle.load(sys.stdin.buffer); sys.path[:] = parametres.pop(0); "
    "from coordination.personnes.annuaire import _processus_flux; "
    "_processus_flux(*parametres, entree=sys.stdin.buffer, sortie=open(int(sys.argv[1]), 'wb'))"
)


def _processus_flux(chemin: str, encodage: str, taille_lot: int, *, entree, sortie) -> None:
    """Corps du processus de préparation : attend les premiers identifiants, prépare, envoie (un objet
    pickle par message) ; une erreur est transmise au processus principal, qui la relance."""

    def envoyer(message: tuple) -> None:
        pickle.dump(message, sortie, protocol=pickle.HIGHEST_PROTOCOL)
        sortie.flush()

    try:
        premiers = pickle.load(entree)  # noqa: S301 - écrit par le processus principal
        _preparer_flux(chemin, encodage, taille_lot, premiers, envoyer)
    except (EOFError, BrokenPipeError):
        pass  # le processus principal a abandonné l'import
    except _FluxImpossible as exc:
        envoyer(("impossible", *exc.args))
    except BaseException as exc:  # noqa: BLE001 - transmise telle quelle au processus principal
        try:
            envoyer(("erreur", exc))
        except Exception:  # exception impossible à transmettre (pickle) : son texte
            envoyer(("erreur", RuntimeError(f"{type(exc).__name__} : {exc}")))


class _Preparation:
    """Le processus de préparation du chargement en flux, vu du processus principal : un interpréteur
    neuf (ni copie de la mémoire ni de la connexion de celui-ci), dans sa propre session (Ctrl-C
    n'atteint que le processus principal), démarré avant la transaction pour que son démarrage (~0,6 s
    d'imports) recouvre le retrait des index. `arreter` le termine à coup sûr (fin, erreur, Ctrl-C) ;
    si le processus principal meurt, l'écriture suivante dans le tube échoue et il s'arrête aussi."""

    def __init__(self, chemin: Path, encodage: str, taille_lot: int) -> None:
        lecture, ecriture = os.pipe()
        try:
            self.processus = subprocess.Popen(  # noqa: S603 - l'interpréteur courant, arguments constants
                [sys.executable, "-c", _AMORCE, str(ecriture)],
                stdin=subprocess.PIPE, pass_fds=(ecriture,), start_new_session=True,
            )  # fmt: skip
        except BaseException:
            os.close(lecture)
            raise
        finally:
            os.close(ecriture)
        self.recus = open(lecture, "rb")  # noqa: SIM115 - fermé par arreter()
        self._envoyer([sys.path, str(chemin), encodage, taille_lot])

    def _envoyer(self, objet) -> None:
        with contextlib.suppress(BrokenPipeError):  # processus arrêté : vu à la lecture suivante
            pickle.dump(objet, self.processus.stdin)
            self.processus.stdin.flush()

    def messages(self, premiers: tuple):
        """Envoie les premiers identifiants, puis rend les messages de _preparer_flux jusqu'au dernier."""
        self._envoyer(premiers)
        while True:
            try:
                message = pickle.load(self.recus)  # noqa: S301 - écrit par notre processus de préparation
            except EOFError:
                raise RuntimeError(
                    f"Le processus de préparation de l'import s'est arrêté (code {self.processus.wait()})."
                ) from None
            yield message
            if message[0] != "lot":
                return

    def arreter(self) -> None:
        if self.processus.poll() is None:
            self.processus.kill()
        self.processus.wait()
        with contextlib.suppress(OSError):
            self.processus.stdin.close()
        self.recus.close()


def _premier_identifiant(curseur, table: str) -> tuple[str, int]:
    curseur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = curseur.fetchone()[0]
    curseur.execute("SELECT nextval(%s)", [sequence])
    return sequence, curseur.fetchone()[0]


def _poser_defauts_flux(curseur) -> list[str]:
    """Valeurs par défaut des colonnes absentes des COPY du flux (horodatages : `now()`, l'instant de
    la transaction ; chaînes vides), le temps du chargement ; renvoie les ordres qui remettent les
    défauts d'origine (lus dans le catalogue)."""
    retour = []
    for table, vides in _DEFAUTS_FLUX.items():
        colonnes = {"cree_le": "now()", "modifie_le": "now()"} | dict.fromkeys(vides, "''")
        curseur.execute(
            "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = %s::regclass AND a.attname = ANY(%s)",
            [table, list(colonnes)],
        )
        origine = dict(curseur.fetchall())
        curseur.execute(
            f"ALTER TABLE {table} "
            + ", ".join(
                f"ALTER COLUMN {colonne} SET DEFAULT {valeur}" for colonne, valeur in colonnes.items()
            )
        )
        retour.append(
            f"ALTER TABLE {table} "
            + ", ".join(
                f"ALTER COLUMN {colonne} DROP DEFAULT" if origine[colonne] is None
                else f"ALTER COLUMN {colonne} SET DEFAULT {origine[colonne]}"
                for colonne in colonnes
            )
        )  # fmt: skip
    return retour


def _charger_en_flux(curseur, preparation: _Preparation, rapport: RapportImport, signaler) -> None:
    """Chargement initial en flux : le processus de préparation (_preparer_flux) lit, valide et
    formate ; ce processus-ci transmet les signalements à `signaler` puis envoie chaque lot par trois
    COPY directement dans les tables finales, pendant que l'autre prépare le lot suivant (deux cœurs
    au travail en Python, plus le serveur). Identifiants tirés des séquences (recalées à la fin)."""
    c = curseur.cursor
    sequences, suivants = {}, {}
    for table in TABLES_CIBLES:
        sequences[table], suivants[table] = _premier_identifiant(curseur, table)
    defauts = _poser_defauts_flux(curseur)
    signalements = Signalements(rapport, signaler)
    for message in preparation.messages(tuple(suivants[table] for table in TABLES_CIBLES)):
        if message[0] == "erreur":
            raise message[1]
        genre, rapport.lignes_lues, signales = message[:3]
        for rejet, numero, motif in signales:
            (signalements.rejeter if rejet else signalements.alerter)(numero, motif)
        if genre == "lot":
            nb_lignes, textes, professionnels, exercices = message[3:]
            for (table, colonnes), texte in zip(_COPIES_FLUX, textes, strict=True):
                if texte:
                    with c.copy(f"COPY {table} {colonnes} FROM STDIN") as copie:
                        copie.write(_avec_uuids(texte))
            rapport.lignes_importees += nb_lignes
            rapport.lots += 1
            rapport.professionnels_crees += professionnels
            rapport.exercices_crees += exercices
        elif genre == "impossible":
            raise _FluxImpossible
    id_pro, id_str, id_ex = message[3]
    corrections_finess, corrections_techniques, identifiants_techniques = message[4]
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
        "UPDATE personnes_structure SET identifiant_technique = %s WHERE id = %s", identifiants_techniques
    )
    rapport.structures_creees = id_str - suivants["personnes_structure"]
    for table, dernier in zip(TABLES_CIBLES, (id_pro, id_str, id_ex), strict=True):
        if dernier > suivants[table]:
            curseur.execute("SELECT setval(%s, %s, true)", [sequences[table], dernier - 1])
        else:
            curseur.execute("SELECT setval(%s, %s, false)", [sequences[table], suivants[table]])
    for ordre in defauts:
        curseur.execute(ordre)


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


def _charger_initialement(
    chemin: Path,
    rapport: RapportImport,
    *,
    encodage: str,
    taille_lot: int,
    signaler: Callable[[str], None] | None,
) -> None:
    """Chemin du chargement initial (voir plus haut) ; lève ErreurImport si une table n'est pas vide."""
    preparation = _Preparation(chemin, encodage, taille_lot)
    try:
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
                    _charger_en_flux(curseur, preparation, rapport, signaler)
                    preparation.arreter()
                    # L'index unique de l'idNat_PS, recréé ici, prouve que chaque professionnel n'a été
                    # écrit qu'une fois, donc que ses lignes se suivaient (fichier trié par idNat_PS).
                    for creation in a_recreer:
                        curseur.execute(creation)
            except (_FluxImpossible, IntegrityError):
                # Fichier non trié (un idNat_PS repris plus loin : doublon refusé par l'index unique) ou
                # identifiant technique revendiqué après coup : on relit le fichier par la table
                # temporaire, sans signaler de nouveau les lignes déjà lues.
                preparation.arreter()
                deja_signalees = rapport.lignes_lues + 1
                rapport.chargement = "table_temporaire"
                _remettre_a_zero(rapport)
                lecture = _Lecture(
                    chemin, rapport, encodage=encodage, taille_lot=taille_lot, signaler=signaler,
                    deja_signalees=deja_signalees,
                )  # fmt: skip
                try:
                    _charger_par_table_temporaire(curseur, lecture, rapport, uuid_sql)
                finally:
                    lecture.arreter()
                for creation in a_recreer:
                    curseur.execute(creation)
            # Avec la table des noms (remplie par déclencheur) : son index GIN ne sert qu'avec des
            # statistiques à jour.
            curseur.execute(f"ANALYZE {', '.join(TABLES_CIBLES)}, personnes_nomannuaire")
    finally:
        preparation.arreter()


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
    lecture = None
    try:
        if initial:
            _charger_initialement(
                chemin, rapport, encodage=encodage, taille_lot=taille_lot, signaler=signaler
            )
        else:
            lecture = _Lecture(
                chemin, rapport, encodage=encodage, taille_lot=taille_lot, signaler=signaler,
                texte_exercices=parallele,
            )  # fmt: skip
            _importer_par_lots(lecture, rapport, parallele)
    except BaseException as exc:
        if lecture is not None:
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
