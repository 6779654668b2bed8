"""Correspondances FHIR du cercle : Cercle ↔ CareTeam (profil CDS `cds-ihe-careteam`, volet CI-SIS
« Gestion du cercle de soins » 2.0.1 ; docs/decisions/0011-careteam-cds.md).

Sens sortant (fonction pure, `cercle_vers_careteam`) : un `participant` par présence (`Membre`) ;
une personne sortie puis revenue a donc plusieurs entrées, chacune avec sa période. Les membres
seulement proposés (historique de remboursement) et les propositions écartées ne sont pas des
participants.

Sens entrant (`lire_careteam`) : ce qu'une CareTeam reçue demande — sujet, statut, structure
responsable, et pour chaque participant l'élément `member` (à résoudre en base par l'appelant), les
codes de rôle et les dates. Les règles du profil que fhir.resources ne vérifie pas lèvent une
erreur 422 avec l'expression FHIRPath de l'élément fautif.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch

from cercle.models import Cercle, Membre, MotifSortie, StatutMembre, TypeMembre
from cercle.roles import FICHES, ROLE_DU_LIEN, ROLE_SYSTEME_PORTAIL, SYSTEME_TRE_R259, SYSTEME_TRE_R260, Role
from coordination.fhir.erreurs import non_traitable
from coordination.personnes.fhir import SYSTEME_URN, identifiant_portail, reference

PROFIL_CARETEAM = "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-ihe-careteam"

# Participants publiés : ni les propositions en attente, ni les propositions écartées.
PARTICIPANTS = Prefetch(
    "membres",
    queryset=Membre.objects.exclude(statut=StatutMembre.PROPOSE)
    .exclude(motif_sortie=MotifSortie.PROPOSITION_ECARTEE)
    .select_related("professionnel", "exercice__structure", "structure", "proche")
    .order_by("date_entree", "id"),
    to_attr="participants",
)


# --- Cercle → CareTeam ----------------------------------------------------------------------------


def _role(membre: Membre) -> list[dict]:
    """Le code du jeu de valeurs careteam-roles-vs, puis le rôle plus fin du portail."""
    fiche = FICHES[membre.role]
    libelle = Role(membre.role).label
    return [
        {
            "coding": [
                {"system": fiche.systeme_cds, "code": fiche.code_cds},
                {"system": ROLE_SYSTEME_PORTAIL, "code": membre.role, "display": libelle},
            ],
            "text": libelle,
        }
    ]


def _membre(membre: Membre) -> dict:
    if membre.type == TypeMembre.PROFESSIONNEL:
        if membre.exercice_id:
            return reference("PractitionerRole", membre.exercice, str(membre.professionnel))
        # Présence sans situation d'exercice (libéral vu dans l'historique) : le professionnel.
        return reference("Practitioner", membre.professionnel, str(membre.professionnel))
    if membre.type == TypeMembre.STRUCTURE:
        return reference("Organization", membre.structure, membre.structure.raison_sociale)
    if membre.type == TypeMembre.PROCHE:
        return reference("RelatedPerson", membre.proche, membre.nom_affiche)
    # Autre personne (voisin, bénévole) : pas de ressource servie, une référence logique.
    return {"type": "RelatedPerson", "identifier": identifiant_portail(membre), "display": membre.nom_affiche}


def participant(membre: Membre) -> dict:
    periode = {"start": membre.date_entree.isoformat()}
    if membre.date_sortie:
        periode["end"] = membre.date_sortie.isoformat()
    return {"role": _role(membre), "member": _membre(membre), "period": periode}


def cercle_vers_careteam(cercle: Cercle, participants: list[Membre]) -> dict:
    """CareTeam d'un cercle. `participants` : les présences publiées (voir PARTICIPANTS), dans
    l'ordre d'entrée. `meta.versionId` et `meta.lastUpdated` sont posés par l'appelant."""
    usager = cercle.usager
    ressource = {
        "resourceType": "CareTeam",
        "id": str(cercle.uuid),
        "meta": {"profile": [PROFIL_CARETEAM]},
        "identifier": [identifiant_portail(cercle)],
        "status": cercle.statut,
        "name": f"Cercle de soins de {usager.prenom_affiche} {usager.nom_affiche}",
        "subject": reference("Patient", usager, f"{usager.prenom_affiche} {usager.nom_affiche}"),
        "period": {"start": cercle.date_debut.isoformat()},
    }
    if cercle.date_fin:
        ressource["period"]["end"] = cercle.date_fin.isoformat()
    if participants:
        ressource["participant"] = [participant(m) for m in participants]
    if cercle.structure_responsable_id:
        structure = cercle.structure_responsable
        ressource["managingOrganization"] = [reference("Organization", structure, structure.raison_sociale)]
    return ressource


# --- CareTeam → ce qui est demandé ----------------------------------------------------------------


@dataclass
class ParticipantRecu:
    rang: int
    membre: dict  # l'élément participant.member (référence), à résoudre par l'appelant
    codes: list[tuple[str, str]]  # (système, code) des rôles
    debut: dt.date
    fin: dt.date | None

    @property
    def chemin(self) -> str:
        return f"CareTeam.participant[{self.rang}]"


@dataclass
class CareTeamRecue:
    sujet: dict
    statut: str
    structure_responsable: dict | None
    participants: list[ParticipantRecu] = field(default_factory=list)


def _date(valeur, expression: str, *, obligatoire: bool) -> dt.date | None:
    """Date (ou date et heure) FHIR → date du jour civil indiqué ; partielle ou invalide → 422."""
    if valeur is None:
        if obligatoire:
            raise non_traitable(
                f"{expression} est obligatoire (profil cds-ihe-careteam).", expression=[expression]
            )
        return None
    if not isinstance(valeur, str) or len(valeur) < 10:
        raise non_traitable(
            f"{expression} : une date complète (AAAA-MM-JJ) est attendue, « {str(valeur)[:40]} » reçu.",
            expression=[expression],
        )
    try:
        return dt.date.fromisoformat(valeur[:10])
    except ValueError:
        raise non_traitable(
            f"{expression} : « {valeur[:40]} » n'est pas une date valide.", expression=[expression]
        ) from None


def lire_careteam(ressource: dict) -> CareTeamRecue:
    """Ce que demande une CareTeam déjà validée par fhir.resources ; 422 si une règle du profil
    cds-ihe-careteam n'est pas tenue (sujet, statut, membre et début de chaque participant)."""
    sujet = ressource.get("subject")
    if not sujet or not (sujet.get("reference") or sujet.get("identifier")):
        raise non_traitable(
            "CareTeam.subject est obligatoire : la référence du Patient dont c'est le cercle.",
            expression=["CareTeam.subject"],
        )
    statut = ressource.get("status")
    if not statut:
        raise non_traitable("CareTeam.status est obligatoire.", expression=["CareTeam.status"])
    gestionnaires = ressource.get("managingOrganization") or []
    if len(gestionnaires) > 1:
        raise non_traitable(
            "CareTeam.managingOrganization : une seule structure responsable est prise en charge.",
            expression=["CareTeam.managingOrganization"],
        )
    recue = CareTeamRecue(sujet, statut, gestionnaires[0] if gestionnaires else None)
    for rang, element in enumerate(ressource.get("participant") or []):
        chemin = f"CareTeam.participant[{rang}]"
        membre = element.get("member")
        if not membre:
            raise non_traitable(f"{chemin}.member est obligatoire.", expression=[f"{chemin}.member"])
        periode = element.get("period") or {}
        debut = _date(periode.get("start"), f"{chemin}.period.start", obligatoire=True)
        fin = _date(periode.get("end"), f"{chemin}.period.end", obligatoire=False)
        if fin is not None and fin < debut:
            raise non_traitable(
                f"{chemin}.period : la fin ({fin.isoformat()}) précède le début ({debut.isoformat()}).",
                expression=[f"{chemin}.period.end"],
            )
        codes = [
            (codage.get("system", ""), codage.get("code", ""))
            for role in element.get("role") or []
            for codage in role.get("coding") or []
        ]
        recue.participants.append(ParticipantRecu(rang, membre, codes, debut, fin))
    return recue


# Code careteam-roles-vs → rôle, pour un proche (le lien TRE_R260 du RelatedPerson).
_ROLES_PROCHE_CDS = {
    "CAREGIVER": Role.AIDANT,
    "GUARD": Role.REPRESENTANT_LEGAL,
    "NOK": Role.PERSONNE_CONFIANCE,
    "QUAL": Role.PERSONNE_CONFIANCE,  # obsolète dans TRE_R260, accepté en entrée
    "ECON": Role.PERSONNE_A_PREVENIR,
    "CON": Role.FAMILLE,
}


def role_demande(participant: ParticipantRecu, type_membre: str, *, defaut: str) -> str:
    """Le rôle du portail demandé par un participant : le code du portail s'il est donné et convient
    au type de membre ; sinon le code careteam-roles-vs (PCP, rôle d'un proche) ; sinon `defaut`
    (rôle actuel ou proposé). Un code du portail inconnu ou inadapté → 422."""
    for systeme, code in participant.codes:
        if systeme == ROLE_SYSTEME_PORTAIL:
            fiche = FICHES.get(code)
            if fiche is None or type_membre not in fiche.types:
                raise non_traitable(
                    f"{participant.chemin}.role : le rôle « {code[:40]} » du portail ne convient pas "
                    f"à ce participant ({TypeMembre(type_membre).label}).",
                    expression=[f"{participant.chemin}.role"],
                )
            return code
    for systeme, code in participant.codes:
        if systeme == SYSTEME_TRE_R259 and code == "PCP" and type_membre == TypeMembre.PROFESSIONNEL:
            return Role.MEDECIN_TRAITANT
        if systeme == SYSTEME_TRE_R260 and type_membre == TypeMembre.PROCHE and code in _ROLES_PROCHE_CDS:
            return _ROLES_PROCHE_CDS[code]
    return defaut


def role_du_proche(lien: str) -> str:
    return ROLE_DU_LIEN.get(lien, Role.FAMILLE)


def uuid_de_l_identifiant(element: dict) -> str | None:
    """UUID du portail d'une référence logique (`identifier` urn:ietf:rfc:3986 | urn:uuid:…)."""
    identifiant = element.get("identifier") or {}
    valeur = identifiant.get("value") or ""
    if identifiant.get("system") == SYSTEME_URN and valeur.startswith("urn:uuid:"):
        return valeur.removeprefix("urn:uuid:")
    return None
