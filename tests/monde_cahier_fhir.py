"""Le monde du cahier (tests/monde_cahier.py) complété pour les API : une plateforme de
coordination membre du cercle avec l'écriture au cahier, dont le logiciel (DUI) écrit par FHIR et
REST, deux professionnels de la plateforme (l'un membre du cercle en personne, l'autre non), un
professionnel d'une autre structure, et des ressources FHIR reprises des exemples du volet CdL
(ansforge/IG-fhir-cahier-de-liaison, `input/fsh/example/bundle-example.fsh`) adaptées à ces
identités fictives."""

from __future__ import annotations

import base64
import datetime

from django.utils import timezone

from cahier_liaison.codes import SYSTEME_TYPE_NOTE, SYSTEME_VISIBILITE
from cahier_liaison.fhir import EXT_URGENCE, PROFIL_DOCUMENTREFERENCE
from cercle import services
from cercle.models import TypeMembre
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.personnes.identifiants import OID_INS_TEST
from coordination.personnes.models import ModeRecueil, StatutIdentite, Usager
from tests.factories import CompteFactory, ExerciceFactory, StructureFactory, nir_valide
from tests.monde_cahier import construire_monde_cahier
from tests.monde_cercle import Monde

TEXTE_EXEMPLE = "Maman est fatiguée. Elle n'a pas voulu sortir ce matin."  # exemple du volet
SYSTEME_DUI = "urn:oid:1.2.250.1.999.1.1"  # OID fictif du DUI de la plateforme


def construire_monde_api() -> Monde:
    monde = construire_monde_cahier()
    moi = monde.acteurs["usager"]
    # Identité qualifiée (INS de test) : les volets désignent le patient par son matricule INS.
    for rang, usager in enumerate((monde.usager, monde.autre_usager)):
        Usager.objects.filter(pk=usager.pk).update(
            matricule_ins=nir_valide(900 + rang), oid_ins=OID_INS_TEST,
            statut_identite=StatutIdentite.QUALIFIEE,
            mode_recueil=ModeRecueil.INSI, date_interrogation_insi=datetime.date(2026, 1, 15),
        )  # fmt: skip
        usager.refresh_from_db()
    plateforme = StructureFactory(raison_sociale="Plateforme de coordination fictive")
    monde.plateforme = plateforme
    monde.membres["plateforme"] = services.ajouter_membre(
        acteur=moi, usager=monde.usager, type=TypeMembre.STRUCTURE, structure=plateforme
    )
    services.accorder(acteur=moi, membre=monde.membres["plateforme"], domaine="cahier", niveau=2)
    # Lecture de l'identité : l'entrée Patient d'un Bundle se vérifie contre l'identité de l'usager.
    services.accorder(acteur=moi, membre=monde.membres["plateforme"], domaine="identite", niveau=1)
    # Infirmière de la plateforme, membre du cercle en personne (profession de santé).
    monde.ide_plateforme = ExerciceFactory(
        structure=plateforme,
        profession_code="60",
        professionnel__compte=CompteFactory(),
        professionnel__nom_exercice="BROOKS",
        professionnel__prenom_exercice="Sophie",
        professionnel__profession_code="60",
        professionnel__profession_libelle="Infirmier",
    )
    monde.membres["ide_plateforme"] = services.ajouter_membre(
        acteur=moi, usager=monde.usager, type=TypeMembre.PROFESSIONNEL, exercice=monde.ide_plateforme,
    )  # fmt: skip
    # Assistante sociale de la plateforme, pas membre en personne.
    monde.as_plateforme = ExerciceFactory(
        structure=plateforme,
        profession_code="",
        professionnel__compte=CompteFactory(),
        professionnel__nom_exercice="SOCIALE",
        professionnel__profession_code="",
        professionnel__profession_libelle="",
        fonction="Assistante sociale",
    )
    monde.pro_ailleurs = ExerciceFactory(structure=StructureFactory(), professionnel__nom_exercice="AILLEURS")
    monde.acteurs["dui_plateforme"] = Acteur(
        TypeActeur.LOGICIEL, structure_logiciel=plateforme, nom_systeme="DUI de test"
    )
    return monde


def b64(texte: str) -> str:
    return base64.b64encode(texte.encode()).decode()


def patient_ins(usager) -> dict:
    return {"system": f"urn:oid:{usager.oid_ins}", "value": usager.matricule_ins}


def document_reference(
    usager, *, auteurs=None, type_note="DEM-AVIS", texte=TEXTE_EXEMPLE,
    identifiant: str | None = None, visibilite: str | None = None, urgente: bool | None = None, date=None,
    reponse_a: str | None = None, contenu=None,
) -> dict:  # fmt: skip
    """DocumentReference de l'exemple du volet (demande d'avis, texte en base64), sujet par INS."""
    ressource = {
        "resourceType": "DocumentReference",
        "meta": {"profile": [PROFIL_DOCUMENTREFERENCE]},
        "status": "current",
        "type": {"coding": [{"system": SYSTEME_TYPE_NOTE, "code": type_note, "display": "Demande d'avis"}]},
        "subject": {"identifier": patient_ins(usager), "display": str(usager)},
        "date": (date or timezone.now() - datetime.timedelta(hours=1)).isoformat(),
        "author": auteurs or [{"type": "Device", "display": "DUI de test"}],
        "content": contenu
        or [{"attachment": {"contentType": "text/plain", "language": "fr", "data": b64(texte)}}],
    }
    if identifiant:
        ressource["masterIdentifier"] = {"system": SYSTEME_DUI, "value": identifiant}
    if visibilite:
        ressource["securityLabel"] = [{"coding": [{"system": SYSTEME_VISIBILITE, "code": visibilite}]}]
    if urgente is not None:
        ressource["extension"] = [{"url": EXT_URGENCE, "valueBoolean": urgente}]
    if reponse_a:
        ressource["relatesTo"] = [{"code": "appends", "target": {"reference": reponse_a}}]
    return ressource


def bundle_creation_note(monde, *, identifiant: str = "note-1", usager=None, exercice=None, **champs) -> dict:
    """Le Bundle `cdl-bundle-creation-note` de l'exemple du volet : DocumentReference, PractitionerRole,
    Practitioner et Patient en POST, références internes en urn:uuid ; identités du monde de test."""
    usager = usager or monde.usager
    exercice = exercice or monde.ide_plateforme
    professionnel = exercice.professionnel
    doc, role, pro, patient = (
        "urn:uuid:04886b69-ef36-4584-819e-4590cd3888a4",
        "urn:uuid:f380b0fd-23c2-415a-b367-53e707ef91e2",
        "urn:uuid:85652218-ea45-426f-916e-6ca5ea8dd5e1",
        "urn:uuid:0d920958-b596-4b91-af67-9bafc707820b",
    )
    note = document_reference(
        usager, identifiant=identifiant, auteurs=[{"reference": pro}, {"reference": role}], **champs
    )
    note["subject"] = {"reference": patient, "display": str(usager)}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": doc, "resource": note, "request": {"method": "POST", "url": "DocumentReference"}},
            {
                "fullUrl": role,
                "resource": {
                    "resourceType": "PractitionerRole",
                    "active": True,
                    "practitioner": {"reference": pro},
                    "organization": {"reference": f"Organization/{exercice.structure.uuid}"},
                },
                "request": {"method": "POST", "url": "PractitionerRole"},
            },
            {
                "fullUrl": pro,
                "resource": {
                    "resourceType": "Practitioner",
                    "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": professionnel.idnat_ps}],
                    "name": [
                        {"family": professionnel.nom_exercice, "given": [professionnel.prenom_exercice]}
                    ],
                },
                "request": {"method": "POST", "url": "Practitioner"},
            },
            {
                "fullUrl": patient,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"use": "official", **patient_ins(usager)}],
                    "birthDate": usager.date_naissance.isoformat(),
                },
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
