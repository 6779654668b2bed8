"""Correspondances FHIR de l'agenda : Evenement → Appointment (FR Core, tel que l'épingle le volet
GAP 3.0.0 « Gestion d'agendas partagés » ; docs/decisions/0025-agenda-api-fhir-gap.md).

Fonctions pures : l'événement et ses participants déjà chargés, aucune requête. Une série
récurrente est servie par son maître (première occurrence : `start`/`end` de la série) ; la règle
de récurrence n'est pas exportée (ADR 0025).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from agenda.disponibilites import Plage, deplier_plages
from agenda.intervalles import Intervalle
from agenda.models import FUSEAU_PAR_DEFAUT, Absence, Evenement, Participant, TypeParticipant
from coordination.fhir.versions import instant_fhir
from coordination.personnes.fhir import identifiant_portail, reference
from coordination.personnes.models import Exercice, Professionnel

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


# --- Schedule et Slot (volet GAP 3.0.0 ; ADR 0025, « Schedule et Slot ») -------------------------

PROFIL_SCHEDULE = f"{BASE_FR_CORE}/fr-core-schedule"
PROFIL_SLOT = f"{BASE_FR_CORE}/fr-core-slot"
EXT_DISPONIBILITE = f"{BASE_FR_CORE}/fr-core-schedule-availability-time"
SYSTEME_TYPE_PLANNING = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-schedule-type"
SYSTEME_RRULE = "https://www.ietf.org/rfc/rfc2445"
# Identifiant des heures par défaut d'un professionnel qui n'a déclaré aucune plage (ADR 0021).
IDENTIFIANT_HEURES_PAR_DEFAUT = {"system": "urn:portail-coordination:agenda", "value": "heures-par-defaut"}
JOURS_ICALENDAR = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class PlageDeclaree:
    """Une plage hebdomadaire telle que le Schedule la publie : son identifiant FHIR, la plage du
    moteur (agenda/disponibilites.py), sa date de création (None : heures par défaut) et le jour à
    partir duquel chercher sa première occurrence (`du`, sinon le jour de sa création)."""

    identifiant: dict
    plage: Plage
    a_partir_du: datetime.date
    cree_le: datetime.datetime | None = None


def _heure_locale(instant: datetime.datetime, fuseau: str) -> str:
    """dateTime FHIR en heure légale du fuseau, avec son décalage (« 2026-12-14T09:00:00+01:00 »)."""
    return instant.astimezone(ZoneInfo(fuseau)).isoformat(timespec="seconds")


def _type_planning(code: str, libelle: str) -> dict:
    return {"url": "type", "valueCoding": {"system": SYSTEME_TYPE_PLANNING, "code": code, "display": libelle}}


def _premiere_occurrence(declaree: PlageDeclaree) -> Intervalle | None:
    plage = declaree.plage
    zone = ZoneInfo(plage.fuseau)
    debut = datetime.datetime.combine(declaree.a_partir_du, datetime.time(0), tzinfo=zone)
    fin = debut + datetime.timedelta(weeks=plage.toutes_les_n_semaines, days=1)
    occurrences = deplier_plages([plage], debut, fin)
    return occurrences[0] if occurrences else None


def _disponibilite(declaree: PlageDeclaree) -> dict | None:
    """Une plage en extension `fr-core-schedule-availability-time` de type `free` : la première
    occurrence en `start`/`end` (DTSTART/DTEND), la règle hebdomadaire en `rrule` (heure murale du
    fuseau de la plage). None pour une plage qui n'a plus d'occurrence."""
    plage = declaree.plage
    premiere = _premiere_occurrence(declaree)
    if premiere is None:
        return None
    regle = [{"url": "freq", "valueCoding": {"system": SYSTEME_RRULE, "code": "WEEKLY"}}]
    if plage.toutes_les_n_semaines > 1:
        regle.append({"url": "interval", "valueInteger": plage.toutes_les_n_semaines})
    if plage.au:
        fin_validite = datetime.datetime.combine(plage.au, plage.heure_fin, tzinfo=ZoneInfo(plage.fuseau))
        regle.append({"url": "until", "valueDateTime": _heure_locale(fin_validite, plage.fuseau)})
    regle += [{"url": "byDay", "valueString": JOURS_ICALENDAR[jour]} for jour in sorted(plage.jours)]
    sous_extensions = [
        _type_planning("free", "Disponibilité"),
        {"url": "rrule", "extension": regle},
        {"url": "start", "valueDateTime": _heure_locale(premiere.debut, plage.fuseau)},
        {"url": "end", "valueDateTime": _heure_locale(premiere.fin, plage.fuseau)},
        {"url": "identifier", "valueIdentifier": declaree.identifiant},
    ]
    if declaree.cree_le is not None:
        sous_extensions.append({"url": "created", "valueDateTime": instant_fhir(declaree.cree_le)})
    return {"url": EXT_DISPONIBILITE, "extension": sous_extensions}


def _indisponibilite(absence: Absence, *, avec_motif: bool) -> dict:
    """Une absence en extension `fr-core-schedule-availability-time` de type `busy-unavailable` ;
    le motif n'est dit qu'au professionnel lui-même (ADR 0021)."""
    sous_extensions = [
        _type_planning("busy-unavailable", "Indisponibilité"),
        {"url": "start", "valueDateTime": _heure_locale(absence.periode.lower, FUSEAU_PAR_DEFAUT)},
        {"url": "end", "valueDateTime": _heure_locale(absence.periode.upper, FUSEAU_PAR_DEFAUT)},
        {"url": "identifier", "valueIdentifier": identifiant_portail(absence)},
    ]
    if avec_motif:
        sous_extensions.append(
            {"url": "unavailabilityReason", "valueCodeableConcept": {"text": absence.get_motif_display()}}
        )
    sous_extensions.append({"url": "created", "valueDateTime": instant_fhir(absence.cree_le)})
    return {"url": EXT_DISPONIBILITE, "extension": sous_extensions}


def professionnel_vers_schedule(
    professionnel: Professionnel,
    *,
    plages: list[PlageDeclaree],
    absences: list[Absence],
    exercices: list[Exercice],
    avec_motifs: bool,
) -> dict:
    """L'agenda d'un professionnel, toutes structures, en Schedule FR Core : ses plages hebdomadaires
    (disponibilités) et ses absences (indisponibilités) en extensions `fr-core-schedule-availability-time`,
    calculées à la lecture. Acteurs : le Practitioner et ses PractitionerRole (situations d'exercice
    passées par l'appelant). Même id que le Practitioner : un agenda par professionnel."""
    extensions = [e for e in (_disponibilite(p) for p in plages) if e is not None]
    extensions += [_indisponibilite(a, avec_motif=avec_motifs) for a in absences]
    nom = str(professionnel)
    acteurs = [reference("Practitioner", professionnel, nom)]
    acteurs += [reference("PractitionerRole", exercice, nom) for exercice in exercices]
    ressource = {
        "resourceType": "Schedule",
        "id": str(professionnel.uuid),
        "meta": {"profile": [PROFIL_SCHEDULE]},
        "extension": extensions,
        "identifier": [{"use": "usual", **identifiant_portail(professionnel)}],
        "active": True,
        "actor": acteurs,
        "comment": f"Agenda de {nom}, toutes structures : plages hebdomadaires et absences à venir.",
    }
    return {cle: valeur for cle, valeur in ressource.items() if valeur not in (None, [])}


def intervalle_vers_slot(schedule_id: str, intervalle: Intervalle, statut: str) -> dict:
    """Un créneau calculé (jamais stocké) en Slot FR Core : id = agenda + début + fin (secondes
    depuis l'époque), stable tant que le créneau ne change pas."""
    debut, fin = intervalle.debut, intervalle.fin
    return {
        "resourceType": "Slot",
        "id": f"{schedule_id}-{int(debut.timestamp())}-{int(fin.timestamp())}",
        "meta": {"profile": [PROFIL_SLOT]},
        "schedule": {"reference": f"Schedule/{schedule_id}"},
        "status": statut,
        "start": instant_fhir(debut),
        "end": instant_fhir(fin),
    }
