"""Le projet personnalisé en FHIR, selon le volet TDDUI (« Médicosocial – Transfert de données
DUI ») : Bundle transaction dont chaque entrée est un POST — CarePlan « projet personnalisé »,
ServiceRequest « besoin », Goal « objectif », Task « action », Consent « accord » (interop.md §5 ;
ADR 0028). Fonctions pures : la version et son contenu déjà chargés, aucune requête.

Identifiants : format TDDUI `3+FINESS/<identifiant local de l'usager>-<PPER|PPBesoin|PPObjectif|
ACTI>-<n>`, l'identifiant local étant l'UUID public de l'usager au portail et `<n>` l'origine
stable de l'élément (la même d'une version à ses avenants). Écart assumé : un objectif sans besoin
lié n'a pas d'`addresses` (1..1 dans TDDUI) ; il est signalé par le service qui exporte.

Les mêmes fonctions font le Bundle TDDUI et les ressources servies par l'API FHIR (ppa/fhir_ppa.py,
ADR 0029) ; seules les références changent, selon `liens` : `liens_bundle` (urn:uuid des entrées
du Bundle) ou `liens_api` (CarePlan/<id> et Goal/<id> servis sous /fhir/ ; besoins et accords,
non servis, par leur identifiant).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coordination.fhir.versions import instant_fhir
from ppa.models import (
    AccordPPA,
    Action,
    AvisUsager,
    Besoin,
    Objectif,
    PartieAccord,
    StatutVersion,
    VersionPPA,
)

BASE_TDDUI = "https://interop.esante.gouv.fr/ig/fhir/tddui"
PROFIL = {
    "CarePlan": f"{BASE_TDDUI}/StructureDefinition/tddui-careplan-projet-perso",
    "ServiceRequest": f"{BASE_TDDUI}/StructureDefinition/tddui-service-request-besoin",
    "Goal": f"{BASE_TDDUI}/StructureDefinition/tddui-goal-objectif",
    "Task": f"{BASE_TDDUI}/StructureDefinition/tddui-task-action",
    "Consent": f"{BASE_TDDUI}/StructureDefinition/tddui-consent-accord",
}
EXT_REFERENCE_PROJET = f"{BASE_TDDUI}/StructureDefinition/tddui-careplan-reference"
EXT_NOTE_OBJECTIF = f"{BASE_TDDUI}/StructureDefinition/tddui-goal-note"
SYSTEME_ENTREE_ACTION = f"{BASE_TDDUI}/CodeSystem/input-tddui-task-action-codesystem"
SYSTEME_PROJET = "https://identifiant-medicosocial-projetpersonnalise.esante.gouv.fr"
SYSTEME_TYPE_PROJET = "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r390-type-projet-personnalise"
SYSTEME_SERAFIN = "https://smt.esante.gouv.fr/terminologie-SERAFINPH"
SYSTEME_PORTAIL = "urn:portail-coordination:ppa"

# Statut FHIR selon celui de la version : en construction → draft, validée → active, remplacée par
# un avenant → revoked (CarePlan, ServiceRequest) ; pour l'objectif et l'action, leurs équivalents.
STATUT_CAREPLAN = {
    StatutVersion.BROUILLON: "draft",
    StatutVersion.EN_VALIDATION: "draft",
    StatutVersion.VALIDEE: "active",
    StatutVersion.REMPLACEE: "revoked",
}
STATUT_BESOIN = STATUT_CAREPLAN
STATUT_OBJECTIF = {
    StatutVersion.BROUILLON: "proposed",
    StatutVersion.EN_VALIDATION: "proposed",
    StatutVersion.VALIDEE: "active",
    StatutVersion.REMPLACEE: "cancelled",
}
STATUT_ACTION = {
    StatutVersion.BROUILLON: "draft",
    StatutVersion.EN_VALIDATION: "draft",
    StatutVersion.VALIDEE: "in-progress",
    StatutVersion.REMPLACEE: "cancelled",
}


@dataclass(frozen=True)
class ContenuCharge:
    """Une version et son contenu, lus par l'appelant (`ppa.selectors.version_complete`, plus ses
    accords ; les objectifs portent leurs besoins visés en `besoins_vises`)."""

    version: VersionPPA
    besoins: list[Besoin]
    objectifs: list[Objectif]
    actions: list[Action]
    accords: list[AccordPPA]

    @classmethod
    def depuis(cls, complete, accords: list[AccordPPA]) -> ContenuCharge:
        """D'une `ppa.selectors.VersionComplete` et des accords de la version."""
        return cls(complete.version, complete.besoins, complete.objectifs, complete.actions, accords)


def _urn(objet) -> str:
    return f"urn:uuid:{objet.uuid}"


# (version servie, objet cité) → la Reference FHIR qui le cite.
Liens = Callable[[VersionPPA, object], dict]


def liens_bundle(version: VersionPPA, objet) -> dict:
    """Dans le Bundle TDDUI : l'entrée citée, par son urn:uuid."""
    return {"reference": _urn(objet)}


def liens_api(version: VersionPPA, objet) -> dict:
    """Dans l'API : CarePlan (une version) et Goal (un objectif) par leur adresse sous /fhir/ ;
    besoin et accord, que l'API ne sert pas, par leur identifiant (référence logique)."""
    if isinstance(objet, VersionPPA):
        return {"reference": f"CarePlan/{objet.uuid}"}
    if isinstance(objet, Objectif):
        return {"reference": f"Goal/{objet.uuid}"}
    if isinstance(objet, Besoin):
        return {"identifier": _identifiant(version, "PPBesoin", objet.origine), "display": objet.libelle}
    return {"identifier": {"system": "urn:ietf:rfc:3986", "value": _urn(objet)}}


def _identifiant(version: VersionPPA, sorte: str, numero) -> dict:
    structure = version.projet.structure
    finess = structure.finess_eg or structure.finess_ej
    local = f"3{finess}/" if finess else ""
    return {"system": SYSTEME_PROJET if sorte == "PPER" else SYSTEME_PORTAIL,
            "value": f"{local}{version.projet.usager.uuid}-{sorte}-{numero}"}  # fmt: skip


def _patient(version: VersionPPA) -> dict:
    usager = version.projet.usager
    return {"reference": f"Patient/{usager.uuid}", "display": str(usager)}


def careplan(
    version: VersionPPA,
    accords_lus: list[AccordPPA],
    liens: Liens = liens_bundle,
    precedente: VersionPPA | None = None,
) -> dict:
    """Le CarePlan « projet personnalisé » d'une version ; `precedente` : la version validée dont
    elle est l'avenant, citée en `replaces` (l'API seulement : le Bundle ne la contient pas)."""
    projet = version.projet
    accords = {a.partie: a for a in accords_lus if a.empreinte == version.empreinte and version.empreinte}
    ressource = {
        "resourceType": "CarePlan",
        "meta": {"profile": [PROFIL["CarePlan"]]},
        "identifier": [_identifiant(version, "PPER", projet.uuid)],
        "status": STATUT_CAREPLAN[version.statut],
        "intent": "plan",
        "category": [
            {
                "coding": [
                    {"system": SYSTEME_TYPE_PROJET, "code": projet.type, "display": projet.get_type_display()}
                ]
            }
        ],  # fmt: skip
        "title": projet.titre,
        "description": f"Version {version.numero}" + (" (avenant)" if version.derive_de_id else ""),
        "subject": _patient(version),
        "author": {"reference": f"Organization/{projet.structure.uuid}", "display": str(projet.structure)},
    }
    if version.debut or version.fin:
        ressource["period"] = {
            cle: valeur.isoformat()
            for cle, valeur in (("start", version.debut), ("end", version.fin))
            if valeur
        }
    if precedente is not None:
        ressource["replaces"] = [liens(version, precedente)]
    informations = []
    if PartieAccord.USAGER in accords:
        informations.append(
            {**liens(version, accords[PartieAccord.USAGER]), "display": "Consentement usager"}
        )
    if PartieAccord.STRUCTURE in accords:
        informations.append(
            {**liens(version, accords[PartieAccord.STRUCTURE]), "display": "Consentement structure"}
        )
    if informations:
        ressource["supportingInfo"] = informations
    paroles = [texte for texte in (version.attentes, version.projet_de_vie) if texte]
    if paroles:
        ressource["note"] = [{"text": "\n\n".join(paroles)}]
    return ressource


def besoin(version: VersionPPA, ligne: Besoin, liens: Liens = liens_bundle) -> dict:
    ressource = {
        "resourceType": "ServiceRequest",
        "meta": {"profile": [PROFIL["ServiceRequest"]]},
        "identifier": [_identifiant(version, "PPBesoin", ligne.origine)],
        "basedOn": [liens(version, version)],
        "status": STATUT_BESOIN[version.statut],
        "intent": "plan",
        "code": {"text": ligne.libelle},
        "subject": _patient(version),
    }
    if ligne.code_serafin:
        ressource["category"] = [{"coding": [{"system": SYSTEME_SERAFIN, "code": ligne.code_serafin}]}]
    if ligne.precision:
        ressource["note"] = [{"text": ligne.precision}]
    return ressource


def _note_objectif(code: str, texte: str) -> dict:
    return {"extension": [{"url": EXT_NOTE_OBJECTIF, "valueCode": code}], "text": texte}


def objectif(version: VersionPPA, ligne: Objectif, liens: Liens = liens_bundle) -> dict:
    """Le Goal « objectif » ; `ligne.besoins_vises` : les besoins qu'il vise, déjà lus."""
    notes = [_note_objectif("titreObjectif", ligne.titre)]
    if ligne.avis_usager or ligne.commentaire_usager:
        avis = AvisUsager(ligne.avis_usager).label if ligne.avis_usager else ""
        notes.append(
            _note_objectif("avisUsagerObjectif", " — ".join(t for t in (avis, ligne.commentaire_usager) if t))
        )
    if ligne.strategie:
        notes.append(_note_objectif("strategieMiseEnOeuvreObjectif", ligne.strategie))
    ressource = {
        "resourceType": "Goal",
        "meta": {"profile": [PROFIL["Goal"]]},
        "extension": [{"url": EXT_REFERENCE_PROJET, "valueReference": liens(version, version)}],
        "identifier": [_identifiant(version, "PPObjectif", ligne.origine)],
        "lifecycleStatus": STATUT_OBJECTIF[version.statut],
        "description": {"text": ligne.titre},
        "subject": _patient(version),
        "note": notes,
    }
    cible = {}
    if ligne.resultat_attendu:
        cible["detailString"] = ligne.resultat_attendu
    if ligne.date_cible:
        cible["dueDate"] = ligne.date_cible.isoformat()
    if cible:
        ressource["target"] = [cible]
    besoins = ligne.besoins_vises
    if besoins:
        ressource["addresses"] = [liens(version, besoins[0])]
    return ressource


def _entree(code: str, **valeur) -> dict:
    return {"type": {"coding": [{"system": SYSTEME_ENTREE_ACTION, "code": code}]}, **valeur}


def action(version: VersionPPA, ligne: Action, liens: Liens = liens_bundle) -> dict:
    """La Task « action » ; `ligne.objectif` et `ligne.intervenant` déjà lus."""
    entrees = [
        _entree("titre", valueString=ligne.quoi),
        _entree("objectif", valueReference=liens(version, ligne.objectif)),
    ]
    details = [texte for texte in (
        f"Où : {ligne.ou}" if ligne.ou else "", f"Fréquence : {ligne.frequence}" if ligne.frequence else "",
        f"Durée : {ligne.duree_minutes} min" if ligne.duree_minutes else "",
    ) if texte]  # fmt: skip
    ressource = {
        "resourceType": "Task",
        "meta": {"profile": [PROFIL["Task"]]},
        "identifier": [_identifiant(version, "ACTI", ligne.origine)],
        "basedOn": [liens(version, version)],
        "status": STATUT_ACTION[version.statut],
        "intent": "plan",
        "description": " · ".join([ligne.quoi, *details]),
        "for": _patient(version),
        "input": entrees,
    }
    if ligne.intervenant_id:
        ressource["owner"] = {"display": ligne.intervenant.nom_affiche}
    elif ligne.intervenant_libelle:
        ressource["owner"] = {"display": ligne.intervenant_libelle}
    return ressource


def accord(version: VersionPPA, ligne: AccordPPA) -> dict:
    projet = version.projet
    if ligne.partie == PartieAccord.STRUCTURE:
        auteur = {"reference": f"Organization/{projet.structure.uuid}", "display": ligne.donne_par_nom}
    else:
        auteur = {"display": f"{ligne.donne_par_nom} ({ligne.qualite})"}
    return {
        "resourceType": "Consent",
        "meta": {"profile": [PROFIL["Consent"]]},
        "status": "active",
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment"}]
        },
        "category": [{"text": "Accord sur le projet personnalisé"}],
        "patient": _patient(version),
        "dateTime": instant_fhir(ligne.donne_le),
        "performer": [auteur],
        "policyRule": {"text": f"Accord sur la version {version.numero}, empreinte {ligne.empreinte}"},
    }


def bundle_tddui(charge: ContenuCharge) -> dict:
    """Le Bundle transaction TDDUI de la version : chaque ressource en POST, liées par urn:uuid."""
    version = charge.version
    entrees = [(version, careplan(version, charge.accords))]
    entrees += [(b, besoin(version, b)) for b in charge.besoins]
    entrees += [(o, objectif(version, o)) for o in charge.objectifs]
    entrees += [(a, action(version, a)) for a in charge.actions]
    entrees += [(a, accord(version, a)) for a in charge.accords if a.empreinte == version.empreinte]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": _urn(objet),
                "resource": ressource,
                "request": {"method": "POST", "url": ressource["resourceType"]},
            }
            for objet, ressource in entrees
        ],  # fmt: skip
    }
