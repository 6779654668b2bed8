"""Listes de codes du cahier de liaison, reprises des terminologies de l'ANS (NOS) et désormais
tenues ici (le portail ne lit aucun fichier de terminologie à l'exécution).

- Type de note : jeu de valeurs JDV_J23-TypeNoteCahierLiaison-CISIS (version 20200424120000),
  codes du système TRE_R234-TypeNote (version 20230718120000).
- Visibilité : JDV_J110-StatutVisibiliteDocument-CISIS, codes du système
  TRE_A07-StatutVisibiliteDocument (version 20200424120000), porté par `securityLabel`.

Voir docs/decisions/0016-cahier-de-liaison-modele.md pour la lecture retenue des codes de visibilité.
"""

from __future__ import annotations

from django.db import models

SYSTEME_TYPE_NOTE = "https://mos.esante.gouv.fr/NOS/TRE_R234-TypeNote/FHIR/TRE-R234-TypeNote"
JDV_TYPE_NOTE = "https://mos.esante.gouv.fr/NOS/JDV_J23-TypeNoteCahierLiaison-CISIS/FHIR/JDV-J23-TypeNoteCahierLiaison-CISIS"
SYSTEME_VISIBILITE = (
    "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument"
)
JDV_VISIBILITE = "https://mos.esante.gouv.fr/NOS/JDV_J110-StatutVisibiliteDocument-CISIS/FHIR/JDV-J110-StatutVisibiliteDocument-CISIS"


class TypeNote(models.TextChoices):
    """JDV_J23 (codes TRE_R234) : les cinq types de note du cahier de liaison."""

    DEMANDE_AVIS = "DEM-AVIS", "Demande d'avis"
    GENERALE = "GEN", "Note générale"
    INSTRUCTION = "INST", "Instruction"
    INTERVENTION = "INTERV", "Note d'intervention"
    OBSERVATION = "OBS", "Note d'observation"


# TRE_A07 complète (libellés de la terminologie), pour l'affichage d'un code reçu.
LIBELLES_TRE_A07: dict[str, str] = {
    "INVISIBLE_PATIENT": "Non visible par le patient",
    "INVISIBLE_REPRESENTANTS_LEGAUX": "Non visible par représentants légaux du patient",
    "MASQUE_PS": "Masqué aux professionnels de santé",
    "MASQUE_PSOCIAL": "Masqué aux professionnels du dom social",
    "MASQUE_PT": "Masqué aux personnes tierces",
}


class Visibilite(models.TextChoices):
    """Les trois audiences que le cahier prend en charge (ADR 0016). La valeur vide : pas de
    `securityLabel`, la note est lue par tout membre habilité en lecture au cahier."""

    TOUS = "", "Tous les membres habilités au cahier"
    # Code INVISIBLE_PATIENT : ni l'usager ni ses proches (qui lisent à ses côtés).
    SANS_USAGER = "INVISIBLE_PATIENT", "Professionnels seulement (ni l'usager ni ses proches)"
    # Code MASQUE_PSOCIAL, lu de façon restrictive : masqué aux professionnels du social, et donc
    # réservé aux professionnels de santé (ni l'usager ni ses proches).
    SANTE = "MASQUE_PSOCIAL", "Professionnels de santé seulement"
