"""Correspondances FHIR de l'agenda : Evenement → Appointment (FR Core, tel que l'épingle le volet
GAP 3.0.0 « Gestion d'agendas partagés » ; docs/decisions/0025-agenda-api-fhir-gap.md).

Fonctions pures : l'événement et ses participants déjà chargés, aucune requête. Une série
récurrente est servie par son maître (première occurrence : `start`/`end` de la série) ; la règle
de récurrence n'est pas exportée (ADR 0025).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agenda.disponibilites import Plage, deplier_plages
from agenda.intervalles import Intervalle
from agenda.models import FUSEAU_PAR_DEFAUT, Absence, Evenement, Participant, StatutEvenement, TypeParticipant
from coordination.fhir.erreurs import non_traitable
from coordination.fhir.versions import instant_fhir
from coordination.personnes.fhir import SYSTEME_URN, identifiant_portail, reference
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


# --- Appointment reçu : création et mise à jour (POST, PUT ; ADR 0025) ------------------------------

TITRE_PAR_DEFAUT = "Rendez-vous"
PRESENCES = {"required": True, "optional": False, "information-only": False}
STATUTS_PARTICIPATION = ("needs-action", "accepted", "declined", "tentative")
# Participants qui ne sont pas des personnes : le lieu devient un lieu de l'événement (son nom),
# l'appareil et le service sont ignorés (le portail ne les tient pas).
TYPES_PERSONNES = ("Patient", "Practitioner", "PractitionerRole", "RelatedPerson")
TYPES_IGNORES = ("Device", "HealthcareService")


@dataclass(frozen=True)
class ParticipantRecu:
    """Un participant personne d'un Appointment reçu : son chemin FHIR (erreurs situées), le type et
    l'élément `actor` tels que reçus, sa présence requise et sa réponse."""

    chemin: str
    type: str
    acteur: dict
    requis: bool
    statut: str


@dataclass(frozen=True)
class AppointmentRecu:
    """Ce que demande un Appointment (déjà validé par fhir.resources) : les champs du service
    (`creer_evenement`/`modifier_evenement`), l'identifiant de la source et les participants.
    `patient` : l'élément `actor` du patient concerné."""

    champs: dict
    systeme_source: str
    identifiant_externe: str
    patient: dict
    participants: list[ParticipantRecu] = field(default_factory=list)


def _instant(valeur, chemin: str) -> datetime.datetime | None:
    if not valeur:
        return None
    instant = parse_datetime(str(valeur))
    if instant is None or timezone.is_naive(instant):
        raise non_traitable(
            f"{chemin} : un instant avec son fuseau horaire est attendu (ex. 2026-12-14T09:00:00+01:00).",
            expression=[chemin],
        )
    return instant


def _horaires(ressource: dict) -> tuple[datetime.datetime, datetime.datetime]:
    """`start`/`end`, sinon la première période demandée (`requestedPeriod`, exemple du volet GAP),
    `minutesDuration` donnant la fin quand elle manque."""
    periode = (ressource.get("requestedPeriod") or [{}])[0]
    debut = _instant(ressource.get("start"), "Appointment.start") or _instant(
        periode.get("start"), "Appointment.requestedPeriod[0].start"
    )
    fin = _instant(ressource.get("end"), "Appointment.end")
    if debut is not None and fin is None and ressource.get("minutesDuration"):
        fin = debut + datetime.timedelta(minutes=int(ressource["minutesDuration"]))
    fin = fin or _instant(periode.get("end"), "Appointment.requestedPeriod[0].end")
    if debut is None or fin is None:
        raise non_traitable(
            "Appointment.start : le début et la fin du rendez-vous sont obligatoires (start et end, ou "
            "start et minutesDuration, ou requestedPeriod).",
            expression=["Appointment.start", "Appointment.end"],
        )
    return debut, fin


def _texte(concept: dict | None) -> str:
    concept = concept or {}
    return concept.get("text") or next((c.get("display") for c in concept.get("coding") or []), "") or ""


def _identifiant_source(ressource: dict) -> tuple[str, str]:
    """(système source, identifiant externe) : le premier identifiant qui n'est pas celui du portail."""
    for rang, identifiant in enumerate(ressource.get("identifier") or []):
        systeme, valeur = identifiant.get("system") or "", (identifiant.get("value") or "").strip()
        if systeme == SYSTEME_URN:
            continue
        chemin = f"Appointment.identifier[{rang}]"
        if not systeme or not valeur:
            raise non_traitable(
                f"{chemin} : l'identifiant du rendez-vous chez sa source a un système et une valeur.",
                expression=[chemin],
            )
        source = source_de(systeme)
        if len(source) > 100 or len(valeur) > 255:
            raise non_traitable(
                f"{chemin} : système (100 caractères) ou valeur (255 caractères) trop long.",
                expression=[chemin],
            )
        return source, valeur
    return "", ""


def _type_acteur(acteur: dict) -> str:
    reference = acteur.get("reference") or ""
    return reference.partition("/")[0] if reference else (acteur.get("type") or "")


def lire_appointment(ressource: dict) -> AppointmentRecu:
    """Le rendez-vous demandé par un Appointment. Refus en 422 (français, situé) : statut que
    l'agenda ne tient pas, horaires absents, participant d'un type inconnu, pas de patient."""
    statut = ressource.get("status")
    if statut not in StatutEvenement.values:
        raise non_traitable(
            f"Appointment.status : « {str(statut)[:40]} » non pris en charge (proposed, pending, booked, "
            "cancelled ou noshow).",
            expression=["Appointment.status"],
        )
    debut, fin = _horaires(ressource)
    titre = (
        ressource.get("description")
        or next((_texte(c) for c in ressource.get("serviceType") or [] if _texte(c)), "")
        or _texte(ressource.get("appointmentType"))
        or TITRE_PAR_DEFAUT
    )
    motif = ressource.get("comment") or next(
        (_texte(c) for c in ressource.get("reasonCode") or [] if _texte(c)), ""
    )
    participants, lieux, patient = [], [], None
    for rang, element in enumerate(ressource.get("participant") or []):
        chemin = f"Appointment.participant[{rang}]"
        acteur = element.get("actor")
        if acteur is None:
            continue  # un rôle à pourvoir (participant.type sans actor) : personne à convier
        type_acteur = _type_acteur(acteur)
        if type_acteur == "Location":
            if acteur.get("display"):
                lieux.append({"libelle": acteur["display"]})
            continue
        if type_acteur in TYPES_IGNORES:
            continue
        if type_acteur not in TYPES_PERSONNES:
            raise non_traitable(
                f"{chemin}.actor : participant d'un type non pris en charge "
                f"({type_acteur[:40] or 'sans référence'}) : Patient, Practitioner, PractitionerRole, "
                "RelatedPerson ou Location sont attendus.",
                expression=[f"{chemin}.actor"],
            )
        participants.append(
            ParticipantRecu(
                chemin=chemin,
                type=type_acteur,
                acteur=acteur,
                requis=PRESENCES.get(element.get("required") or "required", True),
                statut=element.get("status") or "needs-action",
            )
        )
        if type_acteur == "Patient" and patient is None:
            patient = acteur
    if patient is None:
        raise non_traitable(
            "Appointment.participant : le patient concerné (Patient) est obligatoire ; par FHIR, le portail "
            "tient les rendez-vous des usagers.",
            expression=["Appointment.participant"],
        )
    systeme_source, identifiant_externe = _identifiant_source(ressource)
    champs = {
        "titre": titre.strip()[:200],
        "motif": motif.strip()[:300],
        "debut": debut,
        "fin": fin,
        "statut": statut,
        "lieux": lieux,
    }
    return AppointmentRecu(champs, systeme_source, identifiant_externe, patient, participants)


# Champ d'un service → élément FHIR (erreurs de validation situées).
EXPRESSIONS = {
    "titre": "Appointment.description",
    "motif": "Appointment.comment",
    "debut": "Appointment.start",
    "fin": "Appointment.end",
    "statut": "Appointment.status",
    "lieux": "Appointment.participant",
    "participants": "Appointment.participant",
    "identifiant_externe": "Appointment.identifier",
    "fuseau": "Appointment.start",
}

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


def _indisponibilite(absence: Absence) -> dict:
    """Une absence en extension `fr-core-schedule-availability-time` de type `busy-unavailable`,
    sans son motif (une formation, un congé maladie ne regardent que le professionnel : il le voit
    dans ses pages ; l'agenda FHIR est lu aussi par le logiciel de ses structures, ADR 0025)."""
    sous_extensions = [
        _type_planning("busy-unavailable", "Indisponibilité"),
        {"url": "start", "valueDateTime": _heure_locale(absence.periode.lower, FUSEAU_PAR_DEFAUT)},
        {"url": "end", "valueDateTime": _heure_locale(absence.periode.upper, FUSEAU_PAR_DEFAUT)},
        {"url": "identifier", "valueIdentifier": identifiant_portail(absence)},
    ]
    sous_extensions.append({"url": "created", "valueDateTime": instant_fhir(absence.cree_le)})
    return {"url": EXT_DISPONIBILITE, "extension": sous_extensions}


def professionnel_vers_schedule(
    professionnel: Professionnel,
    *,
    plages: list[PlageDeclaree],
    absences: list[Absence],
    exercices: list[Exercice],
) -> dict:
    """L'agenda d'un professionnel, toutes structures, en Schedule FR Core : ses plages hebdomadaires
    (disponibilités) et ses absences (indisponibilités) en extensions `fr-core-schedule-availability-time`,
    calculées à la lecture. Acteurs : le Practitioner et ses PractitionerRole (situations d'exercice
    passées par l'appelant). Même id que le Practitioner : un agenda par professionnel."""
    extensions = [e for e in (_disponibilite(p) for p in plages) if e is not None]
    extensions += [_indisponibilite(a) for a in absences]
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
