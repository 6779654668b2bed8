"""Appointment : les rendez-vous de l'agenda servis en acteur GestionnaireAgenda du volet GAP 3.0.0
(lecture et recherche ; docs/decisions/0025-agenda-api-fhir-gap.md). Enregistrée par
AgendaConfig.ready().

Tout passe par les sélecteurs de l'agenda : `evenements_lisibles` (il lit l'agenda de l'usager,
il est convié, ou il a créé l'événement) borne la lecture et la recherche. Événement inconnu ou
d'un usager hors du monde de l'acteur → 404 ; usager connu sans la lecture de l'agenda → 403
(ADR 0008) ; chaque lecture d'un rendez-vous d'usager est journalisée.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from agenda import fhir, reunions, selectors, services
from agenda.intervalles import Intervalle
from agenda.models import Disponibilite, Evenement, Participant, StatutEvenement
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
    FiltreReferences,
    champ_egal,
    uuid_ou_rien,
)
from coordination.fhir.orm import RessourceModele
from coordination.fhir.registre import (
    Interaction,
    Page,
    ParametreRecherche,
    Representation,
    Ressource,
    TypeParametre,
    enregistrer,
    registre,
)
from coordination.fhir.versions import instant_fhir
from coordination.personnes.fhir import SYSTEME_URN, exercice_actif, identifiant_portail
from coordination.personnes.fhir_annuaire import professionnel_designe
from coordination.personnes.models import Exercice, Proche, Professionnel

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


# --- Schedule et Slot : l'agenda d'un professionnel, calculé (ADR 0025, « Schedule et Slot ») ------

LECTURE_CRENEAUX = "fhir.slot.recherche"
LECTURE_CRENEAU = "fhir.slot.lecture"
# id d'un Slot : agenda (uuid du professionnel), début et fin en secondes depuis l'époque.
ID_SLOT = re.compile(r"(?P<agenda>[0-9a-f-]{36})-(?P<debut>\d{1,11})-(?P<fin>\d{1,11})")
BASE_GAP_SLOT = "https://interop.esante.gouv.fr/ig/fhir/gap/SearchParameter"
SYSTEME_STATUT_SLOT = "http://hl7.org/fhir/slotstatus"
HORIZON_SLOT_MAX = dt.timedelta(days=62)
HORIZON_SLOT_PAR_DEFAUT = dt.timedelta(days=7)
SEL_CURSEUR_SLOT = "agenda.fhir_agenda.slot"
LIBRE, OCCUPE = "free", "busy"


def plages_declarees(lignes: list[Disponibilite], jour: dt.date) -> list[fhir.PlageDeclaree]:
    """Les plages hebdomadaires d'un professionnel (toutes structures), ou, s'il n'en a déclaré
    aucune, les heures par défaut que le moteur de créneaux lui prête (agenda/reunions.py)."""
    if not lignes:
        return [fhir.PlageDeclaree(fhir.IDENTIFIANT_HEURES_PAR_DEFAUT, reunions.HEURES_PRO, jour)]
    return [
        fhir.PlageDeclaree(
            identifiant_portail(ligne),
            reunions._plage(ligne),
            ligne.du or timezone.localdate(ligne.cree_le),
            ligne.cree_le,
        )
        for ligne in lignes
    ]


@enregistrer
class RessourceSchedule(RessourceModele):
    type = "Schedule"
    profil = fhir.PROFIL_SCHEDULE
    documentation = (
        "Agenda d'un professionnel, toutes structures (volet GAP 3.0.0) : plages hebdomadaires et absences "
        "à venir (sans leur motif) en extensions fr-core-schedule-availability-time, calculées à la lecture. "
        "Lisible par le professionnel lui-même et par le logiciel (DUI) des structures où il exerce."
    )
    interactions = frozenset({Interaction.READ, Interaction.SEARCH_TYPE})
    modele = Professionnel
    parametres = (
        P("actor", T.REFERENCE, "Le professionnel (Practitioner) ou l'une de ses situations d'exercice",
          cibles=("Practitioner", "PractitionerRole"),
          filtre=FiltreReferences({"Practitioner": "uuid", "PractitionerRole": "exercices__uuid"})),
    )  # fmt: skip

    def queryset(self, contexte: Contexte):
        # Plages, absences et situations d'exercice préchargées : requêtes constantes par page.
        return selectors.agendas_lisibles(contexte.acteur)

    def representation(self, objet: Professionnel) -> Representation:
        """`objet` vient de `selectors.agendas_lisibles` (préchargements)."""
        jour = timezone.localdate()
        plages = plages_declarees(objet.plages_lues, jour)
        absences = objet.absences_lues
        exercices = [e for e in objet.exercices_lus if exercice_actif(e, jour)]
        ressource = fhir.professionnel_vers_schedule(
            objet, plages=plages, absences=absences, exercices=exercices
        )
        moment = max(
            [objet.modifie_le, *(p.cree_le for p in plages if p.cree_le), *(a.modifie_le for a in absences)]
        )
        ressource["meta"]["lastUpdated"] = instant_fhir(moment)
        return Representation(ressource=ressource, derniere_maj=moment)


def _fenetre_des_creneaux(criteres: list[Critere]) -> tuple[dt.datetime, dt.datetime]:
    """[début, fin) des créneaux cherchés, d'après `start`, `earliestStart` (ge, gt) et `latestStart`
    (le, lt) : sans borne basse, maintenant ; sans borne haute, 7 jours plus tard ; 62 jours au plus."""
    bas = haut = None
    for critere in criteres:
        if len(critere.valeurs) != 1:
            raise erreurs.requete_invalide(f"Paramètre « {critere.nom} » : une seule date (pas de virgule).")
        valeur = critere.valeurs[0]
        permis = {"earliestStart": ("ge", "gt"), "latestStart": ("le", "lt")}.get(
            critere.nom, ("eq", "ge", "gt", "le", "lt", "sa", "eb")
        )
        if valeur.prefixe not in permis:
            raise erreurs.requete_invalide(
                f"Paramètre « {critere.nom} » : préfixe « {valeur.prefixe} » non pris en charge "
                f"(permis : {', '.join(permis)})."
            )
        if valeur.prefixe in ("eq", "ge", "gt", "sa"):
            debut = valeur.fin if valeur.prefixe in ("gt", "sa") else valeur.debut
            bas = debut if bas is None else max(bas, debut)
        if valeur.prefixe in ("eq", "le", "lt", "eb"):
            fin = valeur.fin if valeur.prefixe in ("eq", "le") else valeur.debut
            haut = fin if haut is None else min(haut, fin)
    bas = bas or timezone.now().replace(second=0, microsecond=0)
    haut = haut or bas + HORIZON_SLOT_PAR_DEFAUT
    if haut <= bas:
        raise erreurs.requete_invalide("Créneaux : la fin de la période cherchée doit venir après son début.")
    if haut - bas > HORIZON_SLOT_MAX:
        raise erreurs.requete_invalide(
            "Créneaux : cherchez sur 62 jours au plus (earliestStart et latestStart, "
            "ou start=ge… et start=le…)."
        )
    return bas, haut


def _statuts(criteres: list[Critere]) -> set[str]:
    statuts = {LIBRE, OCCUPE}
    for critere in criteres:  # répétés : ET ; virgule : OU
        if critere.modificateur is not None:
            raise erreurs.requete_invalide(f"Paramètre « status:{critere.modificateur} » non pris en charge.")
        statuts &= {j.code for j in critere.valeurs if j.systeme in (None, SYSTEME_STATUT_SLOT)}
    return statuts


def _agenda_cherche(contexte: Contexte, criteres: list[Critere]) -> Professionnel | None:
    """Le professionnel de `schedule` (obligatoire, une seule valeur) s'il est lisible par l'acteur."""
    if len(criteres) != 1 or len(criteres[0].valeurs) != 1:
        raise erreurs.requete_invalide(
            "Créneaux : indiquez un et un seul agenda, « schedule=Schedule/<id> » (obligatoire)."
        )
    code = uuid_ou_rien(criteres[0].valeurs[0].id)
    if code is None:
        return None
    return selectors.agendas_lisibles(contexte.acteur).filter(uuid=code).first()


def _position(recherche: Recherche) -> int:
    if not recherche.curseur:
        return 0
    try:
        contenu = signing.loads(recherche.curseur, salt=SEL_CURSEUR_SLOT)
        return int(contenu["i"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise erreurs.requete_invalide(
            "Curseur de page invalide : repartez du lien « self » ou de la première page."
        ) from None


def _curseur(position: int) -> str:
    return signing.dumps({"i": position}, salt=SEL_CURSEUR_SLOT)


@enregistrer
class RessourceSlot(Ressource):
    type = "Slot"
    profil = fhir.PROFIL_SLOT
    documentation = (
        "Créneaux calculés (jamais stockés) de l'agenda d'un professionnel (volet GAP 3.0.0) : libres "
        "(plages moins occupations, absences, fériés et temps libres, moteur de l'agenda) et occupés, "
        "rognés à la période cherchée (62 jours au plus). « schedule » est obligatoire. La lecture d'un "
        "créneau le recalcule : 404 s'il a changé depuis la recherche."
    )
    interactions = frozenset({Interaction.READ, Interaction.SEARCH_TYPE})
    parametres = (
        P("schedule", T.REFERENCE, "L'agenda (Schedule) du professionnel, obligatoire", cibles=("Schedule",)),
        P("start", T.DATE, "Début du créneau (eq, ge, gt, le, lt)"),
        P("earliestStart", T.DATE, "GAP : début au plus tôt (ge, gt)",
          definition=f"{BASE_GAP_SLOT}/GAP-Slot-earliestStart"),
        P("latestStart", T.DATE, "GAP : début au plus tard (le, lt)",
          definition=f"{BASE_GAP_SLOT}/GAP-Slot-latestStart"),
        P("status", T.TOKEN, "free | busy"),
    )  # fmt: skip
    inclusions = ("Slot:schedule",)

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        """Un créneau rendu par une recherche, relu tel quel : 404 s'il n'est plus entièrement libre
        (ou entièrement occupé) depuis, ou si l'agenda n'est pas lisible par l'acteur."""
        morceaux = ID_SLOT.fullmatch(id_logique)
        code = uuid_ou_rien(morceaux["agenda"]) if morceaux else None
        professionnel = None
        if (
            code is not None
            and 0 < int(morceaux["fin"]) - int(morceaux["debut"]) <= HORIZON_SLOT_MAX.total_seconds()
        ):
            professionnel = (
                selectors.professionnels_a_l_agenda_lisible(contexte.acteur).filter(uuid=code).first()
            )
        if professionnel is None:
            raise erreurs.introuvable(self.type, id_logique)
        creneau = Intervalle(
            dt.datetime.fromtimestamp(int(morceaux["debut"]), dt.UTC),
            dt.datetime.fromtimestamp(int(morceaux["fin"]), dt.UTC),
        )
        libres, occupes = reunions.libre_et_occupe(professionnel, creneau.debut, creneau.fin)
        statut = LIBRE if libres == [creneau] else OCCUPE if occupes == [creneau] else None
        if statut is None:
            raise erreurs.introuvable(self.type, id_logique)
        noter(contexte, None, LECTURE_CRENEAU, professionnel)
        return Representation(fhir.intervalle_vers_slot(str(code), creneau, statut), timezone.now())

    def rechercher(self, contexte: Contexte, recherche: Recherche) -> Page:
        par_nom: dict[str, list[Critere]] = {}
        for critere in recherche.criteres:
            if critere.chaine or critere.nom in ("_id", "_lastUpdated"):
                raise erreurs.requete_invalide(
                    f"Paramètre « {critere.nom_complet} » non pris en charge pour Slot "
                    "(permis : schedule, start, earliestStart, latestStart, status)."
                )
            par_nom.setdefault(critere.nom, []).append(critere)
        professionnel = _agenda_cherche(contexte, par_nom.get("schedule", []))
        debut, fin = _fenetre_des_creneaux(
            [c for nom in ("start", "earliestStart", "latestStart") for c in par_nom.get(nom, [])]
        )
        statuts = _statuts(par_nom.get("status", []))
        if professionnel is None or not statuts:
            return Page([], total=0)
        noter(contexte, None, LECTURE_CRENEAUX, professionnel)
        libres, occupes = reunions.libre_et_occupe(professionnel, debut, fin)
        creneaux_trouves = [(i, LIBRE) for i in libres if LIBRE in statuts]
        creneaux_trouves += [(i, OCCUPE) for i in occupes if OCCUPE in statuts]
        creneaux_trouves.sort(key=lambda c: (c[0].debut, c[0].fin))
        position = _position(recherche)
        total = len(creneaux_trouves)
        if recherche.compter_seulement:
            return Page([], total=total)
        tranche = creneaux_trouves[position : position + recherche.nombre]
        moment = timezone.now()
        schedule_id = str(professionnel.uuid)
        incluses = []
        if tranche and recherche.inclusions:  # seule inclusion déclarée : Slot:schedule
            contexte.exiger("Schedule", ecriture=False)
            incluses.append(registre.obtenir("Schedule").representation(professionnel))
        return Page(
            [
                Representation(fhir.intervalle_vers_slot(schedule_id, intervalle, statut), moment)
                for intervalle, statut in tranche
            ],
            incluses,
            total=total if recherche.total != "none" else None,
            curseur_suivant=_curseur(position + recherche.nombre)
            if position + recherche.nombre < total
            else None,
            curseur_precedent=_curseur(max(position - recherche.nombre, 0)) if position else None,
        )
