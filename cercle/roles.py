"""Rôles des membres du cercle.

Deux familles, chacune avec son code dans le jeu de valeurs `careteam-roles-vs` du volet CI-SIS
« Gestion du cercle de soins » (TRE_R259 `PCP` pour le médecin traitant, TRE_R260 HL7 RoleClass
pour le reste) :
- les rôles du jeu de valeurs lui-même (médecin traitant, aidant, personne de confiance…) ;
- les rôles médico-sociaux, plus fins, publiés dans notre propre système de codes
  (`ROLE_SYSTEME_PORTAIL`) et exportés avec, en plus, leur équivalent RoleClass (PROV ou AGNT).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

SYSTEME_TRE_R259 = (
    "https://mos.esante.gouv.fr/NOS/TRE_R259-HL7ParticipationFunction/FHIR/TRE-R259-HL7ParticipationFunction"
)
SYSTEME_TRE_R260 = "https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass"
ROLE_SYSTEME_PORTAIL = "https://coordination.example.org/fhir/CodeSystem/role-cercle"


class Role(models.TextChoices):
    # Professionnels
    MEDECIN_TRAITANT = "PCP", "médecin traitant"
    REFERENT_PARCOURS = "referent_parcours", "référent de parcours / coordinateur"
    MEDECIN = "medecin", "médecin"
    IDE = "ide", "infirmier ou infirmière"
    AIDE_SOIGNANT = "aide_soignant", "aide-soignant"
    AES = "aes", "accompagnant éducatif et social"
    AUXILIAIRE_VIE = "auxiliaire_vie", "auxiliaire de vie"
    EDUCATEUR = "educateur", "éducateur"
    PSYCHOLOGUE = "psychologue", "psychologue"
    TRAVAILLEUR_SOCIAL = "travailleur_social", "travailleur social"
    KINE = "kinesitherapeute", "masseur-kinésithérapeute"
    ERGOTHERAPEUTE = "ergotherapeute", "ergothérapeute"
    PHARMACIEN = "pharmacien", "pharmacien"
    DIRECTION = "direction", "direction de structure"
    PROFESSIONNEL_SANTE = "PROV", "autre professionnel de santé"
    AUTRE_PROFESSIONNEL = "AGNT", "autre professionnel"
    # Structures
    STRUCTURE_ACCOMPAGNANTE = "structure_accompagnante", "structure qui accompagne"
    # Proches
    AIDANT = "CAREGIVER", "aidant"
    REPRESENTANT_LEGAL = "GUARD", "représentant légal"
    PERSONNE_CONFIANCE = "QUAL", "personne de confiance"
    PERSONNE_A_PREVENIR = "ECON", "personne à prévenir"
    FAMILLE = "NOK", "famille"
    # Autres personnes
    VOISIN_BENEVOLE = "CON", "voisin, bénévole ou association"


@dataclass(frozen=True)
class FicheRole:
    types: frozenset[str]  # types de membre autorisés (TypeMembre)
    code_cds: str  # code dans careteam-roles-vs
    systeme_cds: str = SYSTEME_TRE_R260
    sante: bool = False  # professionnel de santé au sens du CSP (équipe de soins, L1110-12)


_PRO = frozenset({"professionnel"})

FICHES: dict[str, FicheRole] = {
    Role.MEDECIN_TRAITANT: FicheRole(_PRO, "PCP", SYSTEME_TRE_R259, sante=True),
    Role.REFERENT_PARCOURS: FicheRole(_PRO, "AGNT"),
    Role.MEDECIN: FicheRole(_PRO, "PROV", sante=True),
    Role.IDE: FicheRole(_PRO, "PROV", sante=True),
    Role.AIDE_SOIGNANT: FicheRole(_PRO, "PROV", sante=True),
    Role.AES: FicheRole(_PRO, "AGNT"),
    Role.AUXILIAIRE_VIE: FicheRole(_PRO, "AGNT"),
    Role.EDUCATEUR: FicheRole(_PRO, "AGNT"),
    Role.PSYCHOLOGUE: FicheRole(_PRO, "AGNT"),
    Role.TRAVAILLEUR_SOCIAL: FicheRole(_PRO, "AGNT"),
    Role.KINE: FicheRole(_PRO, "PROV", sante=True),
    Role.ERGOTHERAPEUTE: FicheRole(_PRO, "PROV", sante=True),
    Role.PHARMACIEN: FicheRole(_PRO, "PROV", sante=True),
    Role.DIRECTION: FicheRole(_PRO, "AGNT"),
    Role.PROFESSIONNEL_SANTE: FicheRole(_PRO, "PROV", sante=True),
    Role.AUTRE_PROFESSIONNEL: FicheRole(_PRO, "AGNT"),
    Role.STRUCTURE_ACCOMPAGNANTE: FicheRole(frozenset({"structure"}), "PROV"),
    Role.AIDANT: FicheRole(frozenset({"proche"}), "CAREGIVER"),
    Role.REPRESENTANT_LEGAL: FicheRole(frozenset({"proche"}), "GUARD"),
    # Personne de confiance : NOK (QUAL est obsolète dans TRE_R260) ; famille : CON, comme les
    # proches (personnes/fhir.py, ROLES_PROCHE). Les valeurs en base (« QUAL », « NOK ») restent.
    Role.PERSONNE_CONFIANCE: FicheRole(frozenset({"proche"}), "NOK"),
    Role.PERSONNE_A_PREVENIR: FicheRole(frozenset({"proche"}), "ECON"),
    Role.FAMILLE: FicheRole(frozenset({"proche", "autre"}), "CON"),
    Role.VOISIN_BENEVOLE: FicheRole(frozenset({"autre"}), "CON"),
}

# Lien d'un proche (personnes.LienProche) → rôle proposé à son entrée dans le cercle.
ROLE_DU_LIEN = {
    "aidant": Role.AIDANT,
    "famille": Role.FAMILLE,
    "representant_legal": Role.REPRESENTANT_LEGAL,
    "personne_confiance": Role.PERSONNE_CONFIANCE,
    "personne_a_prevenir": Role.PERSONNE_A_PREVENIR,
    "autre": Role.FAMILLE,
}

# Profession TRE_G15 (code) → rôle proposé pour un professionnel ajouté depuis l'annuaire.
ROLE_DE_LA_PROFESSION = {
    "10": Role.MEDECIN,
    "21": Role.PHARMACIEN,
    "60": Role.IDE,
    "70": Role.KINE,
    "94": Role.ERGOTHERAPEUTE,
    "93": Role.PSYCHOLOGUE,
}


def roles_pour(type_membre: str) -> list[tuple[str, str]]:
    """Les rôles possibles pour un type de membre, dans l'ordre de la liste (pour les formulaires)."""
    return [(valeur, libelle) for valeur, libelle in Role.choices if type_membre in FICHES[valeur].types]


def role_propose(*, type_membre: str, profession_code: str = "", lien: str = "") -> str:
    if type_membre == "structure":
        return Role.STRUCTURE_ACCOMPAGNANTE
    if type_membre == "proche":
        return ROLE_DU_LIEN.get(lien, Role.FAMILLE)
    if type_membre == "autre":
        return Role.VOISIN_BENEVOLE
    return ROLE_DE_LA_PROFESSION.get(profession_code, Role.AUTRE_PROFESSIONNEL)
