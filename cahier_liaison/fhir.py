"""Correspondances FHIR du cahier de liaison : Note ↔ DocumentReference (profil CdL
`cdl-document-reference`, volet CI-SIS « Cahier de liaison » 3.0 ;
docs/decisions/0020-api-cahier-fhir-rest.md).

Sens sortant (fonction pure, `note_vers_documentreference`) : la note telle qu'elle est (ou telle
qu'elle était, pour une version antérieure). Sens entrant (`lire_documentreference`) : ce qu'un
DocumentReference reçu demande — sujet, auteurs et note d'origine (à résoudre en base par
l'appelant), type J23, visibilité J110, urgence, contenu. Les règles du profil que fhir.resources
ne vérifie pas lèvent une erreur 422 avec l'expression FHIRPath de l'élément fautif.

Contenu : un `content` par partie, chacun en `text/plain` (UTF-8, base64) : le texte libre sans
titre, puis chaque rubrique de la transmission ciblée avec son titre (« Cible », « Données »,
« Actions », « Résultats »). Les autres types de contenu (photo, PDF) sont des pièces jointes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import unicodedata
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.dateparse import parse_datetime

from cahier_liaison.codes import (
    LIBELLES_TRE_A07,
    SYSTEME_TYPE_NOTE,
    SYSTEME_VISIBILITE,
    TypeNote,
    Visibilite,
)
from cahier_liaison.models import Note, TypeAuteur
from coordination.fhir.erreurs import non_traitable
from coordination.fhir.versions import instant_fhir
from coordination.personnes.fhir import SYSTEME_URN, identifiant_portail, reference

BASE_CDL = "https://interop.esante.gouv.fr/ig/fhir/cdl"
PROFIL_DOCUMENTREFERENCE = f"{BASE_CDL}/StructureDefinition/cdl-document-reference"
EXT_URGENCE = f"{BASE_CDL}/StructureDefinition/cdl-ext-is-emergency"
TEXTE = "text/plain"
STATUT_ACTIF, STATUT_DESACTIVE = "current", "entered-in-error"
# Rubriques de la transmission ciblée : champ de la note → titre du `content`.
RUBRIQUES = {"cible": "Cible", "donnees": "Données", "actions": "Actions", "resultats": "Résultats"}
TYPES_AUTEURS = ("PractitionerRole", "Practitioner", "RelatedPerson", "Patient", "Organization", "Device")


# --- Note → DocumentReference ----------------------------------------------------------------------


def _texte(valeur: str, titre: str = "") -> dict:
    piece = {
        "contentType": TEXTE,
        "language": "fr",
        "data": base64.b64encode(valeur.encode()).decode(),
    }
    if titre:
        piece["title"] = titre
    return {"attachment": piece}


def auteurs(note: Note) -> list[dict]:
    """Les références `author` d'une note. Professionnel : sa situation d'exercice (préférée par le
    volet) puis la personne ; logiciel d'une structure : la structure, le professionnel pour le
    compte duquel il a écrit s'il l'a dit, et le logiciel lui-même (référence logique)."""
    nom = note.auteur_nom
    exercice = note.auteur_exercice if note.auteur_exercice_id else None
    liste: list[dict] = []
    if exercice is not None:
        liste += [
            reference("PractitionerRole", exercice, nom),
            reference("Practitioner", exercice.professionnel, str(exercice.professionnel)),
        ]
    if note.auteur_type == TypeAuteur.PROCHE:
        liste.append(reference("RelatedPerson", note.auteur_proche, nom))
    elif note.auteur_type == TypeAuteur.USAGER:
        liste.append(reference("Patient", note.auteur_usager, nom))
    elif note.auteur_type == TypeAuteur.LOGICIEL:
        liste.append(reference("Organization", note.auteur_structure, note.auteur_structure.raison_sociale))
        liste.append({"type": "Device", "display": note.auteur_qualite or nom})
    elif note.auteur_type == TypeAuteur.SYSTEME:
        liste.append({"type": "Device", "display": nom})
    return liste


def note_vers_documentreference(note: Note) -> dict:
    """DocumentReference d'une note (auteurs, usager et note d'origine chargés par l'appelant)."""
    ressource: dict = {
        "resourceType": "DocumentReference",
        "id": str(note.uuid),
        "meta": {"profile": [PROFIL_DOCUMENTREFERENCE], "versionId": str(note.version)},
        "extension": [{"url": EXT_URGENCE, "valueBoolean": bool(note.urgente)}],
    }
    if note.master_identifier:
        ressource["masterIdentifier"] = {"system": note.systeme_emetteur, "value": note.master_identifier}
    else:
        ressource["masterIdentifier"] = identifiant_portail(note)
    ressource["identifier"] = [identifiant_portail(note)]
    ressource["status"] = STATUT_ACTIF if note.active else STATUT_DESACTIVE
    ressource["type"] = {
        "coding": [{"system": SYSTEME_TYPE_NOTE, "code": note.type, "display": TypeNote(note.type).label}]
    }
    ressource["subject"] = reference("Patient", note.usager, str(note.usager))
    ressource["date"] = instant_fhir(note.survenue_le)
    ressource["author"] = auteurs(note)
    if not note.active and note.motif_desactivation:
        ressource["description"] = f"Note désactivée : {note.motif_desactivation}"
    if note.visibilite:
        ressource["securityLabel"] = [
            {
                "coding": [
                    {
                        "system": SYSTEME_VISIBILITE,
                        "code": note.visibilite,
                        "display": LIBELLES_TRE_A07[note.visibilite],
                    }
                ]
            }
        ]
    if note.reponse_a_id:
        ressource["relatesTo"] = [
            {"code": "appends", "target": {"reference": f"DocumentReference/{note.reponse_a.uuid}"}}
        ]
    contenu = [_texte(note.texte)] if note.texte else []
    contenu += [
        _texte(getattr(note, champ), titre) for champ, titre in RUBRIQUES.items() if getattr(note, champ)
    ]
    ressource["content"] = contenu
    return ressource


# --- DocumentReference → note ----------------------------------------------------------------------


@dataclass
class NoteRecue:
    """Ce que demande un DocumentReference reçu. `sujet`, `auteurs` (chemin, élément) et
    `reponse_a` sont des éléments Reference à résoudre en base par l'appelant."""

    sujet: dict
    statut: str
    champs: dict  # type, survenue_le, texte, cible, donnees, actions, resultats, urgente, visibilite
    auteurs: list[tuple[str, dict]] = field(default_factory=list)
    systeme_emetteur: str = ""
    master_identifier: str | None = None
    reponse_a: dict | None = None
    motif: str = ""
    pieces_jointes: list[SimpleUploadedFile] = field(default_factory=list)


def _sans_accents(texte: str) -> str:
    decompose = unicodedata.normalize("NFKD", texte)
    return "".join(c for c in decompose if not unicodedata.combining(c)).strip().lower()


TITRES = {_sans_accents(titre): champ for champ, titre in RUBRIQUES.items()}


def _type(ressource: dict) -> str:
    codages = (ressource.get("type") or {}).get("coding") or []
    for codage in codages:
        if codage.get("system") == SYSTEME_TYPE_NOTE and codage.get("code") in TypeNote.values:
            return codage["code"]
    recus = ", ".join(f"{c.get('system', '')}|{c.get('code', '')}" for c in codages)[:200] or "aucun"
    connus = ", ".join(f"{code} ({libelle})" for code, libelle in TypeNote.choices)
    raise non_traitable(
        f"DocumentReference.type : code « {recus} » inconnu du jeu de valeurs J23 (système "
        f"{SYSTEME_TYPE_NOTE}) ; codes permis : {connus}.",
        expression=["DocumentReference.type"],
    )


def _visibilite(ressource: dict) -> str:
    etiquettes = ressource.get("securityLabel") or []
    if len(etiquettes) > 1:
        raise non_traitable(
            "DocumentReference.securityLabel : une seule restriction de visibilité (J110) au plus.",
            expression=["DocumentReference.securityLabel"],
        )
    if not etiquettes:
        return Visibilite.TOUS
    for codage in etiquettes[0].get("coding") or []:
        if codage.get("system") == SYSTEME_VISIBILITE and codage.get("code") in Visibilite.values:
            if codage["code"]:
                return codage["code"]
    codes = ", ".join(str(c.get("code", "")) for c in etiquettes[0].get("coding") or [])[:100]
    raise non_traitable(
        f"DocumentReference.securityLabel : code « {codes} » non pris en charge par le cahier de liaison "
        f"(système {SYSTEME_VISIBILITE}) ; codes permis : {Visibilite.SANS_USAGER} (non visible par le "
        f"patient), {Visibilite.SANTE} (professionnels de santé seulement), ou aucune étiquette.",
        expression=["DocumentReference.securityLabel[0]"],
    )


def _date(ressource: dict) -> dt.datetime:
    texte = ressource.get("date") or ""
    moment = parse_datetime(texte.replace("Z", "+00:00")) if texte else None
    if moment is None or moment.tzinfo is None:
        raise non_traitable(
            "DocumentReference.date : le moment de la note est obligatoire, avec l'heure et le fuseau.",
            expression=["DocumentReference.date"],
        )
    return moment


def _decoder(piece: dict, chemin: str) -> bytes:
    try:
        return base64.b64decode(piece.get("data") or "", validate=True)
    except (binascii.Error, ValueError):
        raise non_traitable(
            f"{chemin}.data : contenu base64 illisible.", expression=[f"{chemin}.data"]
        ) from None


def _contenu(ressource: dict) -> tuple[dict, list[SimpleUploadedFile]]:
    textes: list[str] = []
    rubriques = dict.fromkeys(RUBRIQUES, "")
    pieces: list[SimpleUploadedFile] = []
    for rang, contenu in enumerate(ressource.get("content") or []):
        chemin = f"DocumentReference.content[{rang}].attachment"
        piece = contenu.get("attachment") or {}
        if piece.get("url") and not piece.get("data"):
            raise non_traitable(
                f"{chemin}.url : le portail ne va pas chercher un contenu à une adresse ; envoyez-le "
                "dans `data` (base64).",
                expression=[f"{chemin}.url"],
            )
        type_mime = (piece.get("contentType") or "").split(";")[0].strip().lower()
        donnees = _decoder(piece, chemin)
        if type_mime == TEXTE:
            try:
                texte = donnees.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise non_traitable(
                    f"{chemin}.data : le texte doit être en UTF-8.", expression=[f"{chemin}.data"]
                ) from None
            champ = TITRES.get(_sans_accents(piece.get("title") or ""))
            if champ:
                rubriques[champ] = "\n\n".join(filter(None, (rubriques[champ], texte)))
            elif texte:
                textes.append(texte)
        elif type_mime:
            nom = piece.get("title") or f"piece-{rang + 1}"
            pieces.append(SimpleUploadedFile(nom, donnees, content_type=type_mime))
        else:
            raise non_traitable(
                f"{chemin}.contentType : le type du contenu est obligatoire.",
                expression=[f"{chemin}.contentType"],
            )
    return {"texte": "\n\n".join(textes), **rubriques}, pieces


def _urgente(ressource: dict) -> bool:
    for extension in ressource.get("extension") or []:
        if extension.get("url") == EXT_URGENCE:
            return bool(extension.get("valueBoolean"))
    return False


def _reponse_a(ressource: dict) -> dict | None:
    liens = ressource.get("relatesTo") or []
    for rang, lien in enumerate(liens):
        if lien.get("code") != "appends":
            raise non_traitable(
                f"DocumentReference.relatesTo[{rang}].code : seul « appends » (réponse à une note) est "
                "pris en charge.",
                expression=[f"DocumentReference.relatesTo[{rang}].code"],
            )
    if len(liens) > 1:
        raise non_traitable(
            "DocumentReference.relatesTo : une note répond à une seule note.",
            expression=["DocumentReference.relatesTo"],
        )
    return liens[0].get("target") if liens else None


def lire_documentreference(ressource: dict) -> NoteRecue:
    """La note demandée par un DocumentReference (déjà validé par fhir.resources)."""
    statut = ressource.get("status")
    if statut not in (STATUT_ACTIF, STATUT_DESACTIVE):
        raise non_traitable(
            f"DocumentReference.status : « {str(statut)[:40]} » non pris en charge (current, ou "
            "entered-in-error pour désactiver une note).",
            expression=["DocumentReference.status"],
        )
    contenu, pieces = _contenu(ressource)
    master = ressource.get("masterIdentifier") or {}
    auteurs_recus = [
        (f"DocumentReference.author[{rang}]", element)
        for rang, element in enumerate(ressource.get("author") or [])
    ]
    if not auteurs_recus:
        raise non_traitable(
            "DocumentReference.author : l'auteur de la note est obligatoire.",
            expression=["DocumentReference.author"],
        )
    champs = {
        "type": _type(ressource),
        "survenue_le": _date(ressource),
        "urgente": _urgente(ressource),
        "visibilite": _visibilite(ressource),
        **contenu,
    }
    description = (ressource.get("description") or "").strip()
    return NoteRecue(
        sujet=ressource.get("subject") or {},
        statut=statut,
        champs=champs,
        auteurs=auteurs_recus,
        systeme_emetteur=(master.get("system") or "").strip(),
        master_identifier=(master.get("value") or "").strip() or None,
        reponse_a=_reponse_a(ressource),
        motif=description.removeprefix("Note désactivée :").strip(),
        pieces_jointes=pieces,
    )


# Champ d'un service → élément FHIR (erreurs de validation situées).
EXPRESSIONS = {
    "type": "DocumentReference.type",
    "survenue_le": "DocumentReference.date",
    "visibilite": "DocumentReference.securityLabel",
    "texte": "DocumentReference.content",
    "cible": "DocumentReference.content",
    "master_identifier": "DocumentReference.masterIdentifier",
    "systeme_emetteur": "DocumentReference.masterIdentifier.system",
    "reponse_a": "DocumentReference.relatesTo",
    "motif": "DocumentReference.description",
    "pieces_jointes": "DocumentReference.content",
}


def est_urn_portail(identifiant: dict) -> bool:
    return identifiant.get("system") == SYSTEME_URN
