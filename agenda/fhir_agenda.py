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
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q

from agenda import fhir, selectors
from agenda.models import Evenement, Participant, StatutEvenement
from cercle.fhir_usagers import exiger_acces, noter
from cercle.models import Domaine
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
    interactions = frozenset({Interaction.READ, Interaction.SEARCH_TYPE})
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

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        code = uuid_ou_rien(id_logique)
        evenement = selectors.evenement_visible(contexte.acteur, code) if code else None
        if evenement is None:
            # Invisible : 403 si l'usager concerné est connu de l'acteur sans la lecture de son agenda,
            # 404 sinon (ADR 0008) ; l'événement n'est lu que pour choisir entre les deux.
            cache = Evenement.objects.select_related("usager").filter(uuid=code, serie__isnull=True).first()
            if cache is not None and cache.usager is not None:
                exiger_acces(contexte, cache.usager, Domaine.AGENDA, (self.type, id_logique))
            raise erreurs.introuvable(self.type, id_logique)
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
