"""Correspondances FHIR de l'agenda : Evenement → Appointment (FR Core, tel que l'épingle le volet
GAP 3.0.0 « Gestion d'agendas partagés » ; docs/decisions/0025-agenda-api-fhir-gap.md).

Fonctions pures : l'événement et ses participants déjà chargés, aucune requête. Une série
récurrente est servie par son maître (première occurrence : `start`/`end` de la série) ; la règle
de récurrence n'est pas exportée (ADR 0025).
"""

from __future__ import annotations

from agenda.models import Evenement, Participant, TypeParticipant
from coordination.fhir.versions import instant_fhir
from coordination.personnes.fhir import identifiant_portail, reference

BASE_FR_CORE = "https://hl7.fr/ig/fhir/core/StructureDefinition"
PROFIL_APPOINTMENT = f"{BASE_FR_CORE}/fr-core-appointment"
EXT_OPERATEUR = f"{BASE_FR_CORE}/fr-core-appointment-operator"
# Système des identifiants d'un événement venu d'ailleurs quand sa source n'est pas une URI.
SYSTEME_SOURCE_PORTAIL = "urn:portail-coordination:agenda:source:"


def systeme_identifiant(systeme_source: str) -> str:
    """Le `system` FHIR d'une source d'événements : la source telle quelle si c'est déjà une URI
    (« urn:… », « http… »), sinon préfixée (« dui:<FINESS> » → « urn:portail…:source:dui:<FINESS> »)."""
    if systeme_source.startswith(("urn:", "http://", "https://")):
        return systeme_source
    return f"{SYSTEME_SOURCE_PORTAIL}{systeme_source}"


def source_de(systeme: str) -> str:
    """Inverse de `systeme_identifiant` : la valeur de `Evenement.systeme_source`."""
    return systeme.removeprefix(SYSTEME_SOURCE_PORTAIL)


def _acteur(participant: Participant) -> dict:
    if participant.type == TypeParticipant.USAGER:
        return reference("Patient", participant.usager, participant.nom)
    if participant.type == TypeParticipant.PROCHE:
        return reference("RelatedPerson", participant.proche, participant.nom)
    if participant.exercice_id:
        return reference("PractitionerRole", participant.exercice, participant.nom)
    return reference("Practitioner", participant.professionnel, participant.nom)


def _participant(participant: Participant) -> dict:
    return {
        "actor": _acteur(participant),
        "required": "required" if participant.requis else "optional",
        "status": participant.statut,
    }


def evenement_vers_appointment(evenement: Evenement) -> dict:
    """L'événement (ou le maître d'une série) en Appointment FR Core. Participants : ceux préchargés
    (`participants_precharges`) ; l'usager concerné figure toujours (accepted s'il n'est pas convié
    explicitement). L'opérateur (qui a saisi le rendez-vous) : extension FR Core 2.0 épinglée par
    GAP 3.0.0, par son nom seul."""
    participants = getattr(evenement, "participants_precharges", None)
    if participants is None:  # une liste vide préchargée ne relit rien
        participants = list(evenement.participants.all())
    lignes = [_participant(p) for p in participants]
    if evenement.usager_id and not any(p.usager_id == evenement.usager_id for p in participants):
        lignes.insert(
            0,
            {"actor": reference("Patient", evenement.usager), "required": "required", "status": "accepted"},
        )
    identifiants = [identifiant_portail(evenement)]
    if evenement.identifiant_externe:
        identifiants.append(
            {"system": systeme_identifiant(evenement.systeme_source), "value": evenement.identifiant_externe}
        )
    ressource = {
        "resourceType": "Appointment",
        "id": str(evenement.uuid),
        "meta": {"profile": [PROFIL_APPOINTMENT]},
        "extension": [{"url": EXT_OPERATEUR, "valueReference": {"display": evenement.cree_par_nom}}],
        "identifier": identifiants,
        "status": evenement.statut,
        "description": evenement.titre,
        "start": instant_fhir(evenement.debut),
        "end": instant_fhir(evenement.fin),
        "minutesDuration": int((evenement.fin - evenement.debut).total_seconds() // 60),
        "created": instant_fhir(evenement.cree_le),
        "participant": lignes,
    }
    if evenement.motif:
        ressource["comment"] = evenement.motif
    return {cle: valeur for cle, valeur in ressource.items() if valeur is not None}
