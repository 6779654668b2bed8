"""Archive IHE_XDM.ZIP d'un message MSSanté (IHE ITI TF XDM ; interop.md §7.3).

L'archive porte INDEX.HTM, README.TXT et, sous IHE_XDM/SUBSET01/, les documents et METADATA.XML :
un SubmitObjectsRequest ebRIM 3.0 qui décrit le lot (RegistryPackage) et chaque document
(ExtrinsicObject : titre, type, date, taille, empreinte SHA-1, URI, identifiant unique). L'INS du
patient (matricule et OID, traits dans sourcePatientInfo) n'y figure que si l'identité est
qualifiée : sinon l'identifiant patient, facultatif en XDM, est omis."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from xml.etree import ElementTree as ET  # noqa: N817 (construction seulement, rien n'est analysé ici)

from coordination.echanges.contenus import Document

NS_LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
NS_RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
DOSSIER = "IHE_XDM/SUBSET01"
TYPE_DOCUMENT_STABLE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
MEMBRE = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
LOT = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SCHEMAS = {
    "document.patientId": "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
    "document.uniqueId": "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab",
    "document.typeCode": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
    "lot.uniqueId": "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8",
    "lot.sourceId": "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832",
    "lot.patientId": "urn:uuid:6b5aeafe-874c-4691-b2b8-6a3f9b1d94f0",
}
EXTENSIONS = {"application/pdf": "PDF", "text/xml": "XML", "application/xml": "XML", "text/plain": "TXT"}

ET.register_namespace("lcm", NS_LCM)
ET.register_namespace("rim", NS_RIM)


@dataclass(frozen=True)
class PatientINS:
    """Identité INS qualifiée : matricule, OID, et traits (nom, prénoms, date AAAAMMJJ, sexe)."""

    matricule: str
    oid: str
    nom: str
    prenoms: str
    naissance: str
    sexe: str

    @property
    def cx(self) -> str:
        return f"{self.matricule}^^^&{self.oid}&ISO"


def patient_ins(usager) -> PatientINS | None:
    """L'INS de `usager` s'il est qualifié (RNIV), sinon None : rien ne sort."""
    if usager is None or not usager.matricule_exportable:
        return None
    return PatientINS(
        usager.matricule_ins, usager.oid_ins, usager.nom_naissance, usager.prenoms_naissance,
        usager.date_naissance.strftime("%Y%m%d"), usager.sexe,
    )  # fmt: skip


def _r(nom: str) -> str:
    return f"{{{NS_RIM}}}{nom}"


def _slot(parent: ET.Element, nom: str, *valeurs: str) -> None:
    slot = ET.SubElement(parent, _r("Slot"), name=nom)
    liste = ET.SubElement(slot, _r("ValueList"))
    for valeur in valeurs:
        ET.SubElement(liste, _r("Value")).text = valeur


def _nom(parent: ET.Element, texte: str) -> None:
    ET.SubElement(ET.SubElement(parent, _r("Name")), _r("LocalizedString"), value=texte)


def _identifiant(parent: ET.Element, cible: str, schema: str, valeur: str, nom: str) -> None:
    element = ET.SubElement(
        parent, _r("ExternalIdentifier"), id=f"urn:uuid:{uuid.uuid4()}", registryObject=cible,
        identificationScheme=SCHEMAS[schema], value=valeur,
    )  # fmt: skip
    _nom(element, nom)


def _horodatage(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def nom_de_fichier(rang: int, document: Document) -> str:
    return f"DOC{rang:04d}.{EXTENSIONS.get(document.type_mime, 'BIN')}"


def metadonnees(
    documents: tuple[Document, ...], *, patient: PatientINS | None, identifiant_lot: str, source: str,
    titre: str, auteur: str,
) -> bytes:  # fmt: skip
    """METADATA.XML (SubmitObjectsRequest ebRIM 3.0)."""
    racine = ET.Element(f"{{{NS_LCM}}}SubmitObjectsRequest")
    liste = ET.SubElement(racine, _r("RegistryObjectList"))
    lot_id = f"urn:uuid:{uuid.uuid4()}"
    entrees = []
    for rang, document in enumerate(documents, start=1):
        entree_id = f"urn:uuid:{uuid.uuid4()}"
        entrees.append(entree_id)
        objet = ET.SubElement(
            liste, _r("ExtrinsicObject"), id=entree_id, mimeType=document.type_mime,
            objectType=TYPE_DOCUMENT_STABLE,
        )  # fmt: skip
        _slot(objet, "creationTime", _horodatage(document.date))
        _slot(objet, "hash", hashlib.sha1(document.octets).hexdigest())  # noqa: S324 (imposé par XDS)
        _slot(objet, "size", str(len(document.octets)))
        _slot(objet, "URI", nom_de_fichier(rang, document))
        _slot(objet, "languageCode", "fr-FR")
        if patient is not None:
            _slot(objet, "sourcePatientId", patient.cx)
            _slot(
                objet, "sourcePatientInfo", f"PID-3|{patient.cx}",
                f"PID-5|{patient.nom}^{patient.prenoms}^^^^^L", f"PID-7|{patient.naissance}",
                f"PID-8|{patient.sexe}",
            )  # fmt: skip
        _nom(objet, document.titre)
        if document.code_type is not None:
            systeme, code, libelle = document.code_type
            classement = ET.SubElement(
                objet, _r("Classification"), id=f"urn:uuid:{uuid.uuid4()}", classifiedObject=entree_id,
                classificationScheme=SCHEMAS["document.typeCode"], nodeRepresentation=code,
            )  # fmt: skip
            _slot(classement, "codingScheme", systeme)
            _nom(classement, libelle)
        if patient is not None:
            _identifiant(objet, entree_id, "document.patientId", patient.cx, "XDSDocumentEntry.patientId")
        _identifiant(objet, entree_id, "document.uniqueId", document.identifiant, "XDSDocumentEntry.uniqueId")
    lot = ET.SubElement(liste, _r("RegistryPackage"), id=lot_id)
    _slot(lot, "submissionTime", _horodatage(datetime.now(UTC)))
    _slot(lot, "authorPerson", auteur)
    _nom(lot, titre)
    _identifiant(lot, lot_id, "lot.uniqueId", identifiant_lot, "XDSSubmissionSet.uniqueId")
    _identifiant(lot, lot_id, "lot.sourceId", source, "XDSSubmissionSet.sourceId")
    if patient is not None:
        _identifiant(lot, lot_id, "lot.patientId", patient.cx, "XDSSubmissionSet.patientId")
    ET.SubElement(
        liste, _r("Classification"), id=f"urn:uuid:{uuid.uuid4()}", classifiedObject=lot_id,
        classificationNode=LOT,
    )  # fmt: skip
    for entree_id in entrees:
        association = ET.SubElement(
            liste, _r("Association"), id=f"urn:uuid:{uuid.uuid4()}", sourceObject=lot_id,
            targetObject=entree_id, associationType=MEMBRE,
        )  # fmt: skip
        _slot(association, "SubmissionSetStatus", "Original")
    return ET.tostring(racine, encoding="utf-8", xml_declaration=True)


def archive(
    documents: tuple[Document, ...], *, patient: PatientINS | None, identifiant_lot: str, source: str,
    titre: str, auteur: str,
) -> bytes:  # fmt: skip
    """Les octets de IHE_XDM.ZIP pour `documents` (au moins un)."""
    if not documents:
        raise ValueError("Une archive XDM porte au moins un document.")
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w", zipfile.ZIP_DEFLATED) as zip_:
        lignes = "".join(
            f'<li><a href="{DOSSIER}/{nom_de_fichier(r, d)}">{escape(d.titre)}</a></li>'
            for r, d in enumerate(documents, start=1)
        )
        zip_.writestr(
            "INDEX.HTM",
            f"<html><head><meta charset='utf-8'><title>{escape(titre)}</title></head>"
            f"<body><h1>{escape(titre)}</h1><ul>{lignes}</ul></body></html>",
        )
        zip_.writestr(
            "README.TXT",
            f"Lot IHE XDM : {titre}\r\nÉmis par : {auteur}\r\nLogiciel : portail de coordination "
            f"médico-sociale\r\nContenu : {DOSSIER}/METADATA.XML et {len(documents)} document(s).\r\n",
        )
        for rang, document in enumerate(documents, start=1):
            zip_.writestr(f"{DOSSIER}/{nom_de_fichier(rang, document)}", document.octets)
        zip_.writestr(
            f"{DOSSIER}/METADATA.XML",
            metadonnees(documents, patient=patient, identifiant_lot=identifiant_lot, source=source,
                        titre=titre, auteur=auteur),
        )  # fmt: skip
    return tampon.getvalue()
