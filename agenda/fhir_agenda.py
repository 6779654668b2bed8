"""Appointment : les rendez-vous de l'agenda servis en acteur GestionnaireAgenda du volet GAP 3.0.0
(lecture et recherche ; docs/decisions/0025-agenda-api-fhir-gap.md). Enregistrée par
AgendaConfig.ready().

Tout passe par les sélecteurs de l'agenda : `evenements_lisibles` (il lit l'agenda de l'usager,
il est convié, ou il a créé l'événement) borne la lecture et la recherche. Événement inconnu ou
d'un usager hors du monde de l'acteur → 404 ; usager connu sans la lecture de l'agenda → 403
(ADR 0008) ; chaque lecture d'un rendez-vous d'usager est journalisée.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from agenda import fhir, selectors, services
from agenda.models import Evenement, Participant, StatutEvenement
from cercle import selectors as selectors_cercle
from cercle.fhir_usagers import exiger_acces, noter, usager_designe
from cercle.models import Domaine
from cercle.services import AccesRefuse
from coordination.fhir import erreurs
from coordination.fhir.filtres import (
    RIEN,
    Filtre,
    FiltreDate,
    FiltreJeton,
    champ_egal,
    uuid_ou_rien,
)
from coordination.fhir.orm import RessourceModele
from coordination.fhir.registre import (
    Interaction,
    ParametreRecherche,
    Representation,
    TypeParametre,
    enregistrer,
)
from coordination.personnes.fhir import SYSTEME_URN
from coordination.personnes.fhir_annuaire import professionnel_designe
from coordination.personnes.models import Exercice, Proche

if TYPE_CHECKING:
    from coordination.fhir.contexte import Contexte
    from coordination.fhir.recherche import Critere, Recherche

T = TypeParametre
P = ParametreRecherche
LECTURE = "fhir.appointment.lecture"
BASE_GAP = "https://interop.esante.gouv.fr/ig/fhir/gap/SearchParameter"
SYSTEME_STATUT = "http://hl7.org/fhir/appointmentstatus"


class FiltreActeur(Filtre):
    """`actor` (et `patient`, `practitioner`) : un participant de ce type et de cet id ; le patient
    est aussi l'usager concerné par l'événement."""

    CHEMINS = {
        "Patient": "usager__uuid",
        "Practitioner": "professionnel__uuid",
        "PractitionerRole": "exercice__uuid",
        "RelatedPerson": "proche__uuid",
    }

    def __init__(self, *types: str):
        self.types = types or tuple(self.CHEMINS)

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        conditions = RIEN
        for valeur in critere.valeurs:
            code = uuid_ou_rien(valeur.id)
            if code is None:
                continue
            for type_ressource in self.types:
                if valeur.type not in (None, type_ressource):
                    continue
                participe = Participant.objects.filter(
                    evenement=OuterRef(f"{prefixe}pk"), **{self.CHEMINS[type_ressource]: code}
                )
                conditions |= Q(Exists(participe))
                if type_ressource == "Patient":
                    conditions |= Q(**{f"{prefixe}usager__uuid": code})
        return conditions


class FiltreIdentifiant(Filtre):
    """`identifier` : identifiant du portail (urn:uuid) ou (système source, identifiant externe)."""

    def q(self, critere: Critere, prefixe: str = "") -> Q:
        conditions = RIEN
        for jeton in critere.valeurs:
            if jeton.systeme in (SYSTEME_URN, None):
                if code := uuid_ou_rien((jeton.code or "").removeprefix("urn:uuid:")):
                    conditions |= Q(**{f"{prefixe}uuid": code})
            if jeton.systeme is None:
                conditions |= Q(**{f"{prefixe}identifiant_externe": jeton.code})
            elif jeton.systeme != SYSTEME_URN and jeton.code:
                conditions |= Q(
                    **{
                        f"{prefixe}systeme_source": fhir.source_de(jeton.systeme),
                        f"{prefixe}identifiant_externe": jeton.code,
                    }
                )
        return conditions


def _statut(code: str | None) -> str | None:
    return code if code in StatutEvenement.values else None


@enregistrer
class RessourceAppointment(RessourceModele):
    type = "Appointment"
    profil = fhir.PROFIL_APPOINTMENT
    documentation = (
        "Rendez-vous de l'agenda (volet GAP 3.0.0, acteur GestionnaireAgenda) : ceux des usagers dont "
        "l'acteur lit l'agenda, ceux où il est convié, ceux qu'il a créés. Une série récurrente est "
        "servie par son premier rendez-vous (règle de récurrence non exportée)."
    )
    interactions = frozenset(
        {Interaction.READ, Interaction.SEARCH_TYPE, Interaction.CREATE, Interaction.UPDATE,
         Interaction.CONDITIONAL_UPDATE}
    )  # fmt: skip
    modele = Evenement
    parametres = (
        P("identifier", T.TOKEN, "Identifiant du portail (urn:uuid) ou système|valeur de la source",
          filtre=FiltreIdentifiant()),
        P("patient", T.REFERENCE, "L'usager concerné ou convié", cibles=("Patient",),
          filtre=FiltreActeur("Patient")),
        P("practitioner", T.REFERENCE, "Un professionnel convié", cibles=("Practitioner",),
          filtre=FiltreActeur("Practitioner")),
        P("actor", T.REFERENCE, "Un participant (Patient, Practitioner, PractitionerRole, RelatedPerson)",
          cibles=tuple(FiltreActeur.CHEMINS), filtre=FiltreActeur()),
        P("date", T.DATE, "Début du rendez-vous (préfixes eq, ge, le, gt, lt…)", filtre=FiltreDate("debut")),
        P("earliestStart", T.DATE, "GAP : début au plus tôt (ge, gt)", filtre=FiltreDate("debut"),
          definition=f"{BASE_GAP}/GAP-Appointment-earliestStart"),
        P("latestStart", T.DATE, "GAP : début au plus tard (le, lt)", filtre=FiltreDate("debut"),
          definition=f"{BASE_GAP}/GAP-Appointment-latestStart"),
        P("status", T.TOKEN, "proposed | pending | booked | cancelled | noshow",
          filtre=FiltreJeton({SYSTEME_STATUT: champ_egal("statut", _statut)})),
    )  # fmt: skip
    champs_tri = {"date": ("debut",), "_lastUpdated": ("modifie_le",)}
    liens_inclusion = {"Appointment:patient": ("Patient", "usager_id")}

    def queryset(self, contexte: Contexte):
        return selectors.evenements_lisibles(contexte.acteur)

    def vers_fhir(self, objet: Evenement) -> dict:
        return fhir.evenement_vers_appointment(objet)

    def _evenement(self, contexte: Contexte, id_logique: str) -> Evenement:
        code = uuid_ou_rien(id_logique)
        evenement = selectors.evenement_visible(contexte.acteur, code) if code else None
        if evenement is None:
            # Invisible : 403 si l'usager concerné est connu de l'acteur sans la lecture de son agenda,
            # 404 sinon (ADR 0008) ; l'événement n'est lu que pour choisir entre les deux.
            cache = Evenement.objects.select_related("usager").filter(uuid=code, serie__isnull=True).first()
            if cache is not None and cache.usager is not None:
                exiger_acces(contexte, cache.usager, Domaine.AGENDA, (self.type, id_logique))
            raise erreurs.introuvable(self.type, id_logique)
        return evenement

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        evenement = self._evenement(contexte, id_logique)
        if evenement.usager_id:
            noter(contexte, evenement.usager, LECTURE, evenement)
        return self.representation(evenement)

    def rechercher(self, contexte: Contexte, recherche: Recherche):
        page = super().rechercher(contexte, recherche)
        usagers = {
            uuid.UUID(p["actor"]["reference"].removeprefix("Patient/"))
            for trouve in page.correspondances
            for p in trouve.ressource["participant"]
            if p["actor"]["reference"].startswith("Patient/")
        }
        for usager in sorted(usagers):
            noter(contexte, usager, LECTURE)
        return page

    # -- écriture (POST, PUT, PUT conditionnel sur identifier) -----------------------------------

    def creer(self, contexte: Contexte, ressource: dict, *, id_logique) -> Representation:
        """Un rendez-vous déclaré pour un usager du cercle, écrit par `creer_evenement` (qui décide
        du droit). Le même identifiant de source déjà reçu (et lisible) est renvoyé tel quel (200) :
        rien n'est écrit de plus."""
        recu = fhir.lire_appointment(ressource)
        usager = _usager(contexte, recu)
        if recu.identifiant_externe:
            deja = _par_identifiant(contexte, recu.systeme_source, recu.identifiant_externe)
            if deja is not None:
                return replace(self.representation(deja), existante=True)
        return self.representation(self._creer(contexte, recu, usager))

    def _creer(self, contexte: Contexte, recu: fhir.AppointmentRecu, usager) -> Evenement:
        invites = _invites(contexte, recu, usager)
        source = {"systeme_source": recu.systeme_source} if recu.systeme_source else {}
        with _services_en_fhir():
            evenement = services.creer_evenement(
                acteur=contexte.acteur, usager=usager, invites=invites,
                identifiant_externe=recu.identifiant_externe, **source, **recu.champs,
            )  # fmt: skip
        return selectors.evenement_visible(contexte.acteur, evenement.uuid)

    def modifier(self, contexte: Contexte, id_logique: str, ressource: dict, *, version_attendue):
        """PUT Appointment/<id> : le rendez-vous visible, modifié par les services de l'agenda."""
        evenement = self._evenement(contexte, id_logique)
        recu = fhir.lire_appointment(ressource)
        usager = _usager(contexte, recu)
        evenement = self._mettre_a_jour(contexte, evenement, recu, usager, version_attendue)
        return self.representation(evenement), False

    def modifier_conditionnel(
        self, contexte: Contexte, recherche: Recherche, ressource: dict, *, version_attendue
    ):
        """PUT Appointment?identifier=système|valeur : aucun rendez-vous lisible ne porte cet
        identifiant → création (201) ; un seul → mise à jour (200) ; plusieurs → 412."""
        critere = recherche.criteres[0] if len(recherche.criteres) == 1 else None
        if critere is None or critere.nom != "identifier" or critere.chaine or len(critere.valeurs) != 1:
            raise erreurs.requete_invalide(
                "Mise à jour conditionnelle d'un Appointment : un seul critère, "
                "« identifier=système|valeur »."
            )
        jeton = critere.valeurs[0]
        recu = fhir.lire_appointment(ressource)
        if jeton.systeme != SYSTEME_URN and (
            recu.identifiant_externe != jeton.code
            or (jeton.systeme and fhir.source_de(jeton.systeme) != recu.systeme_source)
        ):
            raise erreurs.non_traitable(
                "Appointment.identifier : le rendez-vous doit porter l'identifiant de l'adresse "
                "(système|valeur), pour qu'un nouvel envoi le retrouve.",
                expression=["Appointment.identifier"],
            )
        usager = _usager(contexte, recu)
        trouves = list(self.filtrer(self.queryset(contexte), recherche)[:2])
        if len(trouves) > 1:
            raise erreurs.plusieurs_correspondances(self.type)
        if not trouves:
            if jeton.systeme == SYSTEME_URN:
                raise erreurs.introuvable(self.type, (jeton.code or "").removeprefix("urn:uuid:"))
            return self.representation(self._creer(contexte, recu, usager)), True
        evenement = self._mettre_a_jour(contexte, trouves[0], recu, usager, version_attendue)
        return self.representation(evenement), False

    def _mettre_a_jour(self, contexte: Contexte, evenement: Evenement, recu, usager, version_attendue):
        """Les champs changés par `modifier_evenement`, les participants par `remplacer_participants`,
        l'annulation par `annuler_evenement` : tout ou rien."""
        if evenement.usager_id != usager.pk:
            raise erreurs.non_traitable(
                "Appointment.participant : le patient d'un rendez-vous ne change pas.",
                expression=["Appointment.participant"],
            )
        if (
            recu.identifiant_externe
            and evenement.identifiant_externe
            and (
                (recu.systeme_source, recu.identifiant_externe)
                != (evenement.systeme_source, evenement.identifiant_externe)
            )
        ):
            raise erreurs.non_traitable(
                "Appointment.identifier : l'identifiant d'un rendez-vous chez sa source ne change pas.",
                expression=["Appointment.identifier"],
            )
        sequence_lue = None
        if version_attendue is not None:
            if version_attendue != str(evenement.sequence):  # If-Match : la version (SEQUENCE) lue
                raise erreurs.version_perimee(version_attendue, str(evenement.sequence))
            sequence_lue = evenement.sequence
        annule = recu.champs["statut"] == StatutEvenement.ANNULE
        changements = {
            champ: valeur
            for champ, valeur in recu.champs.items()
            if getattr(evenement, champ) != valeur and not (champ == "statut" and annule)
        }
        invites = _invites(contexte, recu, usager)
        with transaction.atomic(), _services_en_fhir():
            if changements:
                evenement = services.modifier_evenement(
                    acteur=contexte.acteur, evenement=evenement, sequence_lue=sequence_lue, **changements
                )
            services.remplacer_participants(acteur=contexte.acteur, evenement=evenement, invites=invites)
            if annule:
                services.annuler_evenement(acteur=contexte.acteur, evenement=evenement)
        return selectors.evenement_visible(contexte.acteur, evenement.uuid)


# --- Outils d'écriture ---------------------------------------------------------------------------


@contextmanager
def _services_en_fhir():
    """Refus d'un service de l'agenda → 403 ; version périmée → 412 ; champ refusé → 422 situé."""
    try:
        yield
    except AccesRefuse as refus:
        raise erreurs.interdit(str(refus)) from None
    except services.ConflitDeVersion as conflit:
        raise erreurs.ErreurFHIR.simple(412, " ".join(conflit.messages), "conflict") from None
    except ValidationError as erreur:
        champs = list(erreur.message_dict) if hasattr(erreur, "error_dict") else []
        expressions = sorted({fhir.EXPRESSIONS.get(c, "Appointment") for c in champs}) or ["Appointment"]
        raise erreurs.non_traitable(" ".join(erreur.messages), expression=expressions) from None


def _usager(contexte: Contexte, recu: fhir.AppointmentRecu):
    """Le patient du rendez-vous : inconnu ou hors du monde de l'acteur → 422 (même réponse dans les
    deux cas, ADR 0008) ; le droit d'écrire dans son agenda est décidé ensuite par le service."""
    usager = usager_designe(recu.patient)
    if usager is None or selectors_cercle.usager_connu(contexte.acteur, usager.uuid) is None:
        raise erreurs.non_traitable(
            "Appointment.participant : ce patient n'est pas connu du portail pour vous (matricule INS avec "
            "son OID, ou identifiant ou référence du portail). Le portail ne crée pas d'usager par FHIR.",
            expression=["Appointment.participant"],
        )
    return usager


def _par_identifiant(contexte: Contexte, systeme_source: str, identifiant_externe: str) -> Evenement | None:
    return (
        selectors.evenements_lisibles(contexte.acteur)
        .filter(systeme_source=systeme_source, identifiant_externe=identifiant_externe)
        .first()
    )


def _code(acteur: dict, type_ressource: str):
    """L'UUID du portail d'une référence « Type/uuid » ou d'un identifiant urn:uuid."""
    reference = acteur.get("reference") or ""
    if reference:
        type_cite, _, identifiant = reference.partition("/")
        return uuid_ou_rien(identifiant) if type_cite == type_ressource else None
    identifiant = acteur.get("identifier") or {}
    if identifiant.get("system") == SYSTEME_URN:
        return uuid_ou_rien((identifiant.get("value") or "").removeprefix("urn:uuid:"))
    return None


def _personne(contexte: Contexte, participant: fhir.ParticipantRecu, usager):
    """La personne que désigne un participant (le service vérifie ensuite qu'elle est du cercle) :
    un proche de l'usager, une situation d'exercice, un professionnel (sa situation dans la structure
    du logiciel, sinon la plus récente), ou un patient. None : inconnue."""
    if participant.type == "Patient":
        return usager_designe(participant.acteur)
    if participant.type == "RelatedPerson":
        code = _code(participant.acteur, "RelatedPerson")
        return Proche.objects.filter(uuid=code, usager=usager).first() if code else None
    exercices = Exercice.objects.select_related("professionnel")
    if participant.type == "PractitionerRole":
        code = _code(participant.acteur, "PractitionerRole")
        return exercices.filter(uuid=code).first() if code else None
    professionnel = professionnel_designe(participant.acteur)
    if professionnel is None:
        return None
    candidats = list(exercices.filter(professionnel=professionnel).order_by("-date_debut", "-id"))
    structure_id = getattr(contexte.acteur.structure_logiciel, "pk", None)
    return next((e for e in candidats if e.structure_id == structure_id), candidats[0] if candidats else None)


def _invites(contexte: Contexte, recu: fhir.AppointmentRecu, usager) -> list[services.Invite]:
    invites = []
    for participant in recu.participants:
        personne = _personne(contexte, participant, usager)
        if personne is None:
            raise erreurs.non_traitable(
                f"{participant.chemin}.actor : participant inconnu du portail (référence ou identifiant du "
                "portail, RPPS ou idNat_PS pour un professionnel ; proche de ce patient).",
                expression=[f"{participant.chemin}.actor"],
            )
        invites.append(services.Invite(personne, requis=participant.requis, statut=participant.statut))
    return invites
