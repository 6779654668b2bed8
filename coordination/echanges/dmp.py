"""Adaptateur DMP : dépôt des documents d'un message en lot PDSm ITI-65 (« provide document
bundle », IHE MHD ; interop.md §7.1–7.2 ; ADR 0034), sur `settings.DMP_URL`.

Le lot : un Bundle `transaction` identifié par la clé d'idempotence du message (le DMP du bac à
sable dédoublonne dessus), une List SubmissionSet, et pour chaque document une DocumentReference
(auteur et gardien : la structure ; patient : le matricule INS et l'OID de l'INS, l'équivalent du
PatientId XDS CX.1/CX.4/CX.5 « NH » ; `relatesTo` « replaces » si le document en remplace un) et
son Binary (taille et SHA-1 de ses octets). L'identité est relue à l'envoi : plus qualifiée →
`Rejet`, rien ne part."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import TYPE_CHECKING

from django.conf import settings

from coordination.echanges.erreurs import Rejet
from coordination.echanges.http_fhir import appeler
from coordination.echanges.models import Destination
from coordination.echanges.services import raison_de_refus
from coordination.fhir.versions import instant_fhir
from coordination.personnes.identifiants import SYSTEME_FINESS
from coordination.personnes.models import Structure, Usager

if TYPE_CHECKING:
    from coordination.echanges.contenus import Contenu, Document
    from coordination.echanges.models import MessageSortant

SYSTEME_CLE = "urn:portail-coordination:echanges:cle"
SYSTEME_URN = "urn:ietf:rfc:3986"
PROFIL_LOT = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-comprehensive-provide-document-bundle"
PROFIL_LOT_SOUMIS = (
    "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-submissionset-comprehensive"
)
PROFIL_DOCUMENT = (
    "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-comprehensive-document-reference"
)
TYPES_LISTE = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
SYSTEME_V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
SERVICE = "Le DMP"


def identifiant_ins(usager: Usager) -> dict:
    """Le matricule INS en identifiant FHIR : système urn:oid de l'INS, type NH (PatientId XDS CX.5)."""
    return {
        "type": {"coding": [{"system": SYSTEME_V2_0203, "code": "NH"}]},
        "system": f"urn:oid:{usager.oid_ins}",
        "value": usager.matricule_ins,
    }


def usager_qualifie(message: MessageSortant) -> Usager:
    """La personne du message relue en base ; `Rejet` (raison en français) si son identité n'est
    plus qualifiée : l'INS ne quitte le portail que qualifiée."""
    usager = Usager.objects.filter(pk=message.usager_id).first()
    raison = raison_de_refus(message.destination, message.destinataire, usager)
    if raison:
        raise Rejet(raison)
    return usager


def _structure(message: MessageSortant) -> dict:
    structure = Structure.objects.filter(uuid=message.charge.get("structure")).first()
    if structure is None:
        raise Rejet("Dépôt impossible : la structure auteur du document est introuvable.")
    finess = structure.finess_eg or structure.finess_ej
    return {"identifier": {"system": SYSTEME_FINESS, "value": finess}, "display": structure.raison_sociale}


def _urn_oid(identifiant: str) -> str:
    return identifiant if identifiant.startswith("urn:") else f"urn:oid:{identifiant}"


def _document(document: Document, patient: dict, structure: dict, url_binaire: str) -> dict:
    auteur = {"resourceType": "Organization", "id": "auteur", "name": structure["display"],
              "identifier": [structure["identifier"]]}  # fmt: skip
    ressource = {
        "resourceType": "DocumentReference",
        "meta": {"profile": [PROFIL_DOCUMENT]},
        "contained": [auteur],
        "masterIdentifier": {"system": SYSTEME_URN, "value": _urn_oid(document.identifiant)},
        "status": "current",
        "subject": {"identifier": patient},
        "date": instant_fhir(document.date),
        "author": [{"reference": "#auteur"}],
        "custodian": structure,
        "content": [
            {
                "attachment": {
                    "contentType": document.type_mime,
                    "url": url_binaire,
                    "size": len(document.octets),
                    "hash": base64.b64encode(
                        hashlib.sha1(document.octets, usedforsecurity=False).digest()
                    ).decode(),
                    "title": document.titre,
                    "creation": instant_fhir(document.date),
                }
            }
        ],
        "context": {"period": {"start": instant_fhir(document.date)}},
    }
    if document.code_type:
        systeme, code, libelle = document.code_type
        ressource["type"] = {"coding": [{"system": systeme, "code": code, "display": libelle}]}
    if document.remplace:
        ressource["relatesTo"] = [
            {
                "code": "replaces",
                "target": {"identifier": {"system": SYSTEME_URN, "value": _urn_oid(document.remplace)}},
            }
        ]
    return ressource


def lot_iti65(message: MessageSortant, contenu: Contenu, usager: Usager) -> dict:
    """Le Bundle ITI-65 du message (fonction pure, hormis la lecture de la structure)."""
    if not contenu.documents:
        raise Rejet("Dépôt impossible : le message ne porte aucun document.")
    patient = identifiant_ins(usager)
    structure = _structure(message)
    entrees, elements = [], []
    for document in contenu.documents:
        url_ref, url_binaire = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
        elements.append({"item": {"reference": url_ref}})
        entrees.append(
            {"fullUrl": url_ref, "resource": _document(document, patient, structure, url_binaire),
             "request": {"method": "POST", "url": "DocumentReference"}}
        )  # fmt: skip
        binaire = {"resourceType": "Binary", "contentType": document.type_mime,
                   "data": base64.b64encode(document.octets).decode()}  # fmt: skip
        entrees.append(
            {"fullUrl": url_binaire, "resource": binaire, "request": {"method": "POST", "url": "Binary"}}
        )
    lot_soumis = {
        "resourceType": "List",
        "meta": {"profile": [PROFIL_LOT_SOUMIS]},
        "identifier": [
            {"use": "official", "system": SYSTEME_URN, "value": f"urn:oid:2.25.{message.uuid.int}"}
        ],
        "status": "current",
        "mode": "working",
        "title": contenu.sujet[:200],
        "code": {"coding": [{"system": TYPES_LISTE, "code": "submissionset"}]},
        "subject": {"identifier": patient},
        "date": instant_fhir(message.cree_le),
        "source": {"display": structure["display"]},
        "entry": elements,
    }
    entrees.insert(0, {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": lot_soumis,
                       "request": {"method": "POST", "url": "List"}})  # fmt: skip
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [PROFIL_LOT]},
        "identifier": {"system": SYSTEME_CLE, "value": message.cle_idempotence},
        "type": "transaction",
        "entry": entrees,
    }


def envoyer(message: MessageSortant, contenu: Contenu) -> str:
    """Dépose le lot ; rend l'adresse de la (première) DocumentReference créée par le DMP."""
    if message.destination != Destination.DMP:
        raise Rejet(f"L'adaptateur DMP ne sert pas la destination « {message.destination} ».")
    usager = usager_qualifie(message)
    reponse = appeler(SERVICE, "POST", settings.DMP_URL, corps=lot_iti65(message, contenu, usager))
    try:
        emplacements = [e["response"]["location"] for e in reponse.json().get("entry", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        emplacements = []
    if not emplacements:
        raise Rejet(
            "Le DMP a répondu sans dire où il a rangé le document (réponse de transaction illisible)."
        )
    return emplacements[0]
