"""Écritures de l'agenda. Chaque service vérifie l'habilitation `agenda` (cercle/habilitations.py)
quand l'événement concerne un usager, ou que l'acteur agit sur son propre agenda sinon ; valide
l'entrée (ValidationError par champ, en français) ; écrit dans une transaction ; journalise.
Un refus n'écrit rien."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agenda import recurrence
from agenda.models import (
    Absence,
    Disponibilite,
    Evenement,
    FluxIcs,
    MotifAbsence,
    Participant,
    StatutEvenement,
    StatutParticipation,
    TypeParticipant,
    nouveau_jeton,
)
from cercle import habilitations
from cercle.models import Membre, StatutMembre, TypeMembre
from cercle.services import AccesRefuse
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.journal.services import journaliser_plusieurs, preparer_evenement
from coordination.personnes.models import Exercice, Proche, Usager

DOMAINE = "agenda"
DUREE_MAX = dt.timedelta(days=31)  # un événement (une occurrence) ; au-delà, une récurrence
LIEUX_MAX = 5

REFUS_ECRIRE = "Vous n'avez pas le droit de modifier l'agenda de cette personne."
REFUS_PROPRE_AGENDA = "Seul un professionnel connecté peut tenir son propre agenda."
REFUS_MODIFIER = (
    "Seule la personne qui a créé cet événement, ou qui tient l'agenda de l'usager, peut le modifier."
)


# --- Outils -------------------------------------------------------------------------------------


def _journaliser(acteur: Acteur, action: str, *, evenement=None, usager: Usager | None, details=None) -> None:
    au_nom_de = str(usager) if usager is not None and habilitations.agit_pour_l_usager(acteur, usager) else ""
    journaliser_plusieurs(
        [
            preparer_evenement(
                acteur=acteur,
                action=action,
                objet=evenement,
                usager=usager,
                au_nom_de=au_nom_de,
                details=details,
            )
        ]
    )


def _pousser_vers_mes(acteur: Acteur, evenement: Evenement) -> None:
    """Range la révision pour Mon espace santé si la personne l'a accepté (agenda/mes.py, ADR 0034)."""
    from agenda import mes

    mes.pousser(acteur=acteur, evenement=evenement)


def _exiger_ecriture(acteur: Acteur | None, usager: Usager | None) -> None:
    if acteur is None:
        raise AccesRefuse(REFUS_ECRIRE)
    if usager is None:
        if acteur.type != TypeActeur.PROFESSIONNEL:
            raise AccesRefuse(REFUS_PROPRE_AGENDA)
    elif not habilitations.peut(acteur, usager, "ecrire", DOMAINE):
        raise AccesRefuse(REFUS_ECRIRE)


def fuseau_valide(fuseau: str) -> ZoneInfo:
    try:
        return ZoneInfo(fuseau)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError({"fuseau": f"Fuseau horaire inconnu : « {fuseau} »."}) from None


def _valider_horaires(debut, fin, *, journee_entiere: bool, fuseau: str) -> None:
    zone = fuseau_valide(fuseau)
    erreurs = {}
    if debut is None or fin is None:
        raise ValidationError({"debut": "Indiquez le début et la fin."})
    if timezone.is_naive(debut) or timezone.is_naive(fin):
        raise ValidationError({"debut": "L'horaire doit préciser son fuseau horaire."})
    if fin <= debut:
        erreurs["fin"] = "La fin doit venir après le début."
    elif fin - debut > DUREE_MAX:
        erreurs["fin"] = (
            "Un événement dure au plus 31 jours ; pour un rendez-vous qui revient, utilisez une récurrence."
        )
    if journee_entiere:
        for nom, instant in (("debut", debut), ("fin", fin)):
            local = instant.astimezone(zone)
            if (local.hour, local.minute, local.second) != (0, 0, 0):
                erreurs[nom] = "Un événement « toute la journée » commence et finit à minuit."
    if erreurs:
        raise ValidationError(erreurs)


def valider_lieux(lieux: Iterable[dict]) -> list[dict]:
    """Lieux d'un événement : libellé, adresse, lien de visio (https seulement)."""
    propres = []
    for lieu in lieux or ():
        libelle = (lieu.get("libelle") or "").strip()[:200]
        adresse = (lieu.get("adresse") or "").strip()[:300]
        visio = (lieu.get("visio") or "").strip()[:500]
        if visio:
            morceaux = urlsplit(visio)
            if morceaux.scheme != "https" or not morceaux.netloc:
                raise ValidationError(
                    {"lieux": f"Le lien de visio doit être une adresse https:// complète : « {visio} »."}
                )
        if libelle or adresse or visio:
            propres.append({"libelle": libelle, "adresse": adresse, "visio": visio})
    if len(propres) > LIEUX_MAX:
        raise ValidationError({"lieux": f"Au plus {LIEUX_MAX} lieux par événement."})
    return propres


def serie_de(evenement: Evenement, remplacements: Sequence[Evenement] = ()) -> recurrence.Serie:
    """La série à déplier (agenda/recurrence.py) d'un événement et de ses occurrences remplacées."""
    return recurrence.Serie(
        debut=evenement.debut,
        fin=evenement.fin,
        fuseau=evenement.fuseau,
        journee_entiere=evenement.journee_entiere,
        rrule=evenement.rrule,
        exdates=tuple(evenement.exdates),
        remplacements=tuple(
            recurrence.Remplacement(
                recurrence_id=r.recurrence_id,
                debut=r.debut,
                fin=r.fin,
                annulee=r.statut == StatutEvenement.ANNULE,
                cle=str(r.uuid),
            )
            for r in remplacements
        ),
    )


def _recurrence(evenement: Evenement) -> None:
    """Normalise la règle et calcule la fin de la série (colonne indexée des fenêtres)."""
    if evenement.rrule:
        try:
            evenement.rrule = recurrence.normaliser_rrule(evenement.rrule, evenement.debut)
        except ValidationError as erreur:
            raise ValidationError({"rrule": erreur.messages}) from None
        evenement.fin_serie = recurrence.fin_de_serie(serie_de(evenement))
    else:
        evenement.exdates = []
        evenement.fin_serie = evenement.fin


# --- Participants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invite:
    """Une personne à convier : un professionnel dans une situation d'exercice, un proche de
    l'usager, ou l'usager lui-même."""

    personne: Exercice | Proche | Usager
    requis: bool = True
    # Réponse déjà connue (rendez-vous déclaré par le logiciel d'une structure, API FHIR) ; None :
    # réponse attendue.
    statut: str | None = None


def membres_invitables(usager: Usager) -> list[Membre]:
    return list(
        Membre.objects.filter(cercle__usager=usager, statut=StatutMembre.ACTIF).select_related(
            "exercice__professionnel", "exercice__structure", "professionnel", "proche", "structure"
        )
    )


def _dans_le_cercle(exercice: Exercice, membres: list[Membre]) -> bool:
    for membre in membres:
        if membre.type == TypeMembre.PROFESSIONNEL and membre.professionnel_id == exercice.professionnel_id:
            return True
        if (
            membre.type == TypeMembre.STRUCTURE
            and exercice.structure_id
            and membre.structure_id == exercice.structure_id
        ):
            return True
    return False


def _participant(invite: Invite, usager: Usager | None, membres: list[Membre]) -> Participant:
    personne = invite.personne
    if isinstance(personne, Exercice):
        if usager is not None and not _dans_le_cercle(personne, membres):
            raise ValidationError(
                {"participants": f"{personne.professionnel} ne fait pas partie du cercle de cette personne."}
            )
        return Participant(
            type=TypeParticipant.PROFESSIONNEL,
            professionnel_id=personne.professionnel_id,
            exercice=personne,
            nom=str(personne.professionnel)[:200],
            requis=invite.requis,
        )
    if usager is None:
        raise ValidationError(
            {"participants": "Un usager ou un proche ne peut être convié qu'à un événement qui le concerne."}
        )
    if isinstance(personne, Proche):
        if personne.usager_id != usager.pk:
            raise ValidationError({"participants": f"{personne} n'est pas un proche de cette personne."})
        nom = f"{personne.prenoms.split(' ')[0]} {personne.nom}".strip()
        return Participant(type=TypeParticipant.PROCHE, proche=personne, nom=nom[:200], requis=invite.requis)
    if isinstance(personne, Usager):
        if personne.pk != usager.pk:
            raise ValidationError(
                {"participants": "Seul l'usager concerné peut être convié à son rendez-vous."}
            )
        return Participant(
            type=TypeParticipant.USAGER, usager=personne, nom=str(personne)[:200], requis=invite.requis
        )
    raise ValidationError({"participants": "Participant non reconnu."})


def _participant_invite(invite: Invite, usager: Usager | None, membres: list[Membre]) -> Participant:
    """Le participant d'une invitation, avec la réponse qu'elle déclare, s'il y en a une."""
    participant = _participant(invite, usager, membres)
    if invite.statut is not None:
        if invite.statut not in StatutParticipation.values:
            raise ValidationError(
                {"participants": "Réponse attendue : needs-action, accepted, declined ou tentative."}
            )
        participant.statut = invite.statut
        if invite.statut != StatutParticipation.A_REPONDRE:
            participant.repondu_le = timezone.now()
    return participant


def _moi(acteur: Acteur) -> Invite | None:
    if acteur.type == TypeActeur.PROFESSIONNEL:
        return Invite(acteur.exercice)
    if acteur.type == TypeActeur.PROCHE:
        return Invite(acteur.proche)
    if acteur.type == TypeActeur.USAGER:
        return Invite(acteur.usager)
    return None


def _cle_participant(participant: Participant) -> tuple[str, int]:
    if participant.type == TypeParticipant.PROFESSIONNEL:
        return ("professionnel", participant.professionnel_id)
    if participant.type == TypeParticipant.PROCHE:
        return ("proche", participant.proche_id)
    return ("usager", participant.usager_id)


def _participants(acteur: Acteur, usager: Usager | None, invites: Iterable[Invite]) -> list[Participant]:
    """Les participants validés, sans doublon ; l'auteur, s'il est une personne qui participe (le
    professionnel pour son agenda, l'usager ou son proche), a déjà accepté."""
    membres = membres_invitables(usager) if usager is not None else []
    par_cle: dict[tuple[str, int], Participant] = {}
    for invite in invites:
        participant = _participant_invite(invite, usager, membres)
        par_cle.setdefault(_cle_participant(participant), participant)
    moi = _moi(acteur)
    if moi is not None:
        try:
            cree_par = _participant(moi, usager, membres)
        except ValidationError:
            cree_par = None  # ex. une secrétaire qui tient l'agenda par délégation sans y aller
        # L'usager ou son proche qui ajoute un rendez-vous y va ; le professionnel, dans son propre
        # agenda ; un professionnel qui organise pour un usager, seulement s'il s'est convié.
        y_va = acteur.type != TypeActeur.PROFESSIONNEL or usager is None
        if cree_par is not None and (y_va or _cle_participant(cree_par) in par_cle):
            participant = par_cle.setdefault(_cle_participant(cree_par), cree_par)
            participant.statut = StatutParticipation.ACCEPTE
            participant.repondu_le = timezone.now()
    return list(par_cle.values())


# --- Événements ---------------------------------------------------------------------------------


@transaction.atomic
def creer_evenement(
    *,
    acteur: Acteur,
    titre: str,
    debut: dt.datetime,
    fin: dt.datetime,
    usager: Usager | None = None,
    motif: str = "",
    description: str = "",
    journee_entiere: bool = False,
    fuseau: str = "Europe/Paris",
    lieux: Iterable[dict] = (),
    rrule: str = "",
    exdates: Sequence[dt.datetime] = (),
    invites: Iterable[Invite] = (),
    statut: str = StatutEvenement.RESERVE,
    systeme_source: str = "portail",
    identifiant_externe: str = "",
) -> Evenement:
    _exiger_ecriture(acteur, usager)
    titre = (titre or "").strip()
    if not titre:
        raise ValidationError({"titre": "Donnez un titre à l'événement (ex. « Visite à domicile »)."})
    if statut not in StatutEvenement.values:
        raise ValidationError({"statut": "Statut inconnu."})
    _valider_horaires(debut, fin, journee_entiere=journee_entiere, fuseau=fuseau)
    evenement = Evenement(
        titre=titre[:200],
        motif=(motif or "").strip()[:300],
        description=(description or "").strip(),
        usager=usager,
        debut=debut,
        fin=fin,
        journee_entiere=journee_entiere,
        fuseau=fuseau,
        statut=statut,
        lieux=valider_lieux(lieux),
        rrule=(rrule or "").strip(),
        exdates=list(exdates),
        systeme_source=systeme_source,
        identifiant_externe=(identifiant_externe or "").strip()[:255],
        cree_par=acteur.cle,
        cree_par_nom=acteur.nom[:200],
    )
    _recurrence(evenement)
    participants = _participants(acteur, usager, invites)
    try:
        with transaction.atomic():
            evenement.save()
    except IntegrityError:
        raise ValidationError(
            {"identifiant_externe": "Un événement avec cet identifiant existe déjà pour ce système source."}
        ) from None
    for participant in participants:
        participant.evenement = evenement
    Participant.objects.bulk_create(participants)
    _pousser_vers_mes(acteur, evenement)
    _journaliser(
        acteur,
        "agenda.evenement.creation",
        evenement=evenement,
        usager=usager,
        details={"recurrent": bool(evenement.rrule), "participants": len(participants)},
    )
    return evenement


def peut_modifier(acteur: Acteur | None, evenement: Evenement) -> bool:
    if acteur is None:
        return False
    if evenement.cree_par == acteur.cle:
        return True
    return evenement.usager_id is not None and habilitations.peut(
        acteur, evenement.usager_id, "ecrire", DOMAINE
    )


def _exiger_modification(acteur: Acteur | None, evenement: Evenement) -> None:
    if not peut_modifier(acteur, evenement):
        raise AccesRefuse(REFUS_MODIFIER)


class ConflitDeVersion(ValidationError):
    """L'événement a changé depuis la version lue (SEQUENCE) : l'API répond 409."""


def _verrouiller(evenement: Evenement, sequence_lue: int | None) -> Evenement:
    actuel = Evenement.objects.select_for_update().get(pk=evenement.pk)
    if sequence_lue is not None and actuel.sequence != sequence_lue:
        raise ConflitDeVersion(
            "Cet événement a été modifié entre-temps par quelqu'un d'autre. "
            "Rechargez-le pour voir la dernière version."
        )
    return actuel


CHAMPS_MODIFIABLES = {
    "titre",
    "motif",
    "description",
    "debut",
    "fin",
    "journee_entiere",
    "fuseau",
    "lieux",
    "rrule",
    "exdates",
    "statut",
}
CHAMPS_D_HORAIRE = {"debut", "fin", "journee_entiere", "fuseau", "rrule", "exdates"}


@transaction.atomic
def modifier_evenement(
    *, acteur: Acteur, evenement: Evenement, sequence_lue: int | None = None, **changements
) -> Evenement:
    """Modifie un événement (ou toute une série). Un changement d'horaire redemande leur réponse
    aux participants (sauf à l'auteur du changement) ; la version (SEQUENCE) augmente."""
    inconnus = set(changements) - CHAMPS_MODIFIABLES
    if inconnus:
        raise ValidationError(f"Champs non modifiables : {', '.join(sorted(inconnus))}.")
    _exiger_modification(acteur, evenement)
    evenement = _verrouiller(evenement, sequence_lue)
    for champ, valeur in changements.items():
        setattr(evenement, champ, valeur)
    evenement.titre = (evenement.titre or "").strip()[:200]
    if not evenement.titre:
        raise ValidationError({"titre": "Donnez un titre à l'événement."})
    if evenement.statut not in StatutEvenement.values:
        raise ValidationError({"statut": "Statut inconnu."})
    _valider_horaires(
        evenement.debut, evenement.fin, journee_entiere=evenement.journee_entiere, fuseau=evenement.fuseau
    )
    evenement.lieux = valider_lieux(evenement.lieux)
    _recurrence(evenement)
    evenement.sequence = F("sequence") + 1
    evenement.save()
    evenement.refresh_from_db(fields=["sequence"])
    horaire_change = bool(CHAMPS_D_HORAIRE & set(changements))
    if horaire_change:
        moi = _moi(acteur)
        autres = evenement.participants.all()
        if moi is not None:
            autres = autres.exclude(**_filtre_participant(moi.personne))
        autres.update(statut=StatutParticipation.A_REPONDRE, repondu_le=None)
    _pousser_vers_mes(acteur, evenement)
    _journaliser(
        acteur,
        "agenda.evenement.modification",
        evenement=evenement,
        usager=evenement.usager,
        details={"champs": sorted(changements), "sequence": evenement.sequence},
    )
    return evenement


@transaction.atomic
def annuler_evenement(*, acteur: Acteur, evenement: Evenement, motif: str = "") -> Evenement:
    _exiger_modification(acteur, evenement)
    evenement = _verrouiller(evenement, None)
    if evenement.statut == StatutEvenement.ANNULE:
        return evenement
    evenement.statut = StatutEvenement.ANNULE
    evenement.sequence = F("sequence") + 1
    evenement.save(update_fields=["statut", "sequence", "modifie_le"])
    evenement.refresh_from_db(fields=["sequence"])
    _pousser_vers_mes(acteur, evenement)
    _journaliser(
        acteur,
        "agenda.evenement.annulation",
        evenement=evenement,
        usager=evenement.usager,
        details={"motif": (motif or "").strip()[:300]},
    )
    return evenement


@transaction.atomic
def remplacer_participants(*, acteur: Acteur, evenement: Evenement, invites: Iterable[Invite]) -> Evenement:
    """Les participants de l'événement deviennent ceux des invitations (mise à jour d'un rendez-vous
    déclaré par un logiciel : API FHIR) : les absents de la liste sont retirés, les nouveaux
    conviés ; une réponse ou une présence requise déclarée remplace la précédente. Les mêmes règles
    qu'à la création (membres du cercle, proches de l'usager). Sans changement, rien n'est écrit."""
    _exiger_modification(acteur, evenement)
    evenement = _verrouiller(evenement, None)
    membres = membres_invitables(evenement.usager) if evenement.usager_id else []
    nouveaux: dict[tuple[str, int], Participant] = {}
    declares: dict[tuple[str, int], str | None] = {}
    for invite in invites:
        participant = _participant_invite(invite, evenement.usager, membres)
        cle = _cle_participant(participant)
        if cle not in nouveaux:
            nouveaux[cle], declares[cle] = participant, invite.statut
    actuels = {_cle_participant(p): p for p in evenement.participants.all()}
    retires = [p.pk for cle, p in actuels.items() if cle not in nouveaux]
    ajoutes = [p for cle, p in nouveaux.items() if cle not in actuels]
    changes = []
    for cle, participant in nouveaux.items():
        actuel = actuels.get(cle)
        if actuel is None:
            continue
        statut = declares[cle] if declares[cle] is not None else actuel.statut
        if (actuel.requis, actuel.statut) != (participant.requis, statut):
            if statut != actuel.statut:
                actuel.repondu_le = participant.repondu_le
            actuel.requis, actuel.statut = participant.requis, statut
            changes.append(actuel)
    if not (retires or ajoutes or changes):
        return evenement
    Participant.objects.filter(pk__in=retires).delete()
    for participant in ajoutes:
        participant.evenement = evenement
    Participant.objects.bulk_create(ajoutes)
    Participant.objects.bulk_update(changes, ["requis", "statut", "repondu_le"])
    evenement.sequence = F("sequence") + 1
    evenement.save(update_fields=["sequence", "modifie_le"])
    evenement.refresh_from_db(fields=["sequence"])
    _journaliser(
        acteur,
        "agenda.evenement.participants",
        evenement=evenement,
        usager=evenement.usager,
        details={"ajoutes": len(ajoutes), "retires": len(retires), "modifies": len(changes)},
    )
    _pousser_vers_mes(acteur, evenement)
    return evenement


@transaction.atomic
def modifier_occurrence(
    *,
    acteur: Acteur,
    serie: Evenement,
    recurrence_id: dt.datetime,
    debut: dt.datetime | None = None,
    fin: dt.datetime | None = None,
    annulee: bool = False,
) -> Evenement:
    """Déplace ou annule une seule occurrence d'une série (ligne fille, RECURRENCE-ID)."""
    _exiger_modification(acteur, serie)
    serie = _verrouiller(serie, None)
    if not serie.rrule:
        raise ValidationError("Cet événement ne se répète pas : modifiez-le directement.")
    duree = serie.fin - serie.debut
    connues = {
        o.recurrence_id for o in recurrence.deplier(serie_de(serie), recurrence_id, recurrence_id + duree)
    }
    if recurrence_id not in connues:
        raise ValidationError({"recurrence_id": "Cette occurrence n'existe pas dans la série."})
    debut = debut or recurrence_id
    fin = fin or debut + duree
    _valider_horaires(debut, fin, journee_entiere=serie.journee_entiere, fuseau=serie.fuseau)
    remplacement, _ = Evenement.objects.update_or_create(
        serie=serie,
        recurrence_id=recurrence_id,
        defaults={
            "titre": serie.titre,
            "motif": serie.motif,
            "usager": serie.usager,
            "debut": debut,
            "fin": fin,
            "fin_serie": fin,
            "journee_entiere": serie.journee_entiere,
            "fuseau": serie.fuseau,
            "statut": StatutEvenement.ANNULE if annulee else serie.statut,
            "lieux": serie.lieux,
            "systeme_source": serie.systeme_source,
            "cree_par": acteur.cle,
            "cree_par_nom": acteur.nom[:200],
        },
    )
    maj = {"sequence": F("sequence") + 1}
    if serie.fin_serie is not None and fin > serie.fin_serie:
        maj["fin_serie"] = fin  # une séance repoussée après la dernière reste dans les fenêtres
    Evenement.objects.filter(pk=serie.pk).update(**maj)
    _journaliser(
        acteur,
        "agenda.occurrence.annulation" if annulee else "agenda.occurrence.modification",
        evenement=serie,
        usager=serie.usager,
        details={"occurrence": recurrence_id.isoformat()},
    )
    return remplacement


def _filtre_participant(personne) -> dict:
    if isinstance(personne, Exercice):
        return {"professionnel_id": personne.professionnel_id}
    if isinstance(personne, Proche):
        return {"proche": personne}
    return {"usager": personne}


@transaction.atomic
def repondre(*, acteur: Acteur, evenement: Evenement, statut: str) -> Participant:
    """La réponse de l'acteur à une invitation : accepte, décline, peut-être."""
    if statut not in {
        StatutParticipation.ACCEPTE,
        StatutParticipation.DECLINE,
        StatutParticipation.PROVISOIRE,
    }:
        raise ValidationError({"statut": "Réponse attendue : accepte, décline ou peut-être."})
    moi = _moi(acteur)
    participant = (
        evenement.participants.select_for_update().filter(**_filtre_participant(moi.personne)).first()
        if moi
        else None
    )
    if participant is None:
        raise AccesRefuse("Vous n'êtes pas convié à cet événement.")
    if evenement.statut == StatutEvenement.ANNULE:
        raise ValidationError("Cet événement est annulé : il n'attend plus de réponse.")
    participant.statut = statut
    participant.repondu_le = timezone.now()
    participant.save(update_fields=["statut", "repondu_le"])
    _journaliser(
        acteur,
        "agenda.evenement.reponse",
        evenement=evenement,
        usager=evenement.usager,
        details={"reponse": statut},
    )
    return participant


# --- Disponibilités, absences, flux -------------------------------------------------------------


def _exiger_professionnel(acteur: Acteur | None) -> Exercice:
    if acteur is None or acteur.type != TypeActeur.PROFESSIONNEL:
        raise AccesRefuse(REFUS_PROPRE_AGENDA)
    return acteur.exercice


@transaction.atomic
def ajouter_disponibilite(
    *,
    acteur: Acteur,
    jours: Iterable[int],
    heure_debut: dt.time,
    heure_fin: dt.time,
    pour_cette_structure: bool = False,
    du: dt.date | None = None,
    au: dt.date | None = None,
    toutes_les_n_semaines: int = 1,
    fuseau: str = "Europe/Paris",
) -> Disponibilite:
    exercice = _exiger_professionnel(acteur)
    jours = sorted(set(jours))
    erreurs = {}
    if not jours or any(j not in range(7) for j in jours):
        erreurs["jours"] = "Choisissez au moins un jour de la semaine."
    if heure_fin <= heure_debut:
        erreurs["heure_fin"] = "L'heure de fin doit venir après l'heure de début."
    if du and au and au < du:
        erreurs["au"] = "La date de fin doit venir après la date de début."
    if not 1 <= toutes_les_n_semaines <= 8:
        erreurs["toutes_les_n_semaines"] = "Une semaine sur 1 à 8 au plus."
    if erreurs:
        raise ValidationError(erreurs)
    fuseau_valide(fuseau)
    dispo = Disponibilite.objects.create(
        professionnel_id=exercice.professionnel_id,
        exercice=exercice if pour_cette_structure else None,
        jours=jours,
        heure_debut=heure_debut,
        heure_fin=heure_fin,
        fuseau=fuseau,
        du=du,
        au=au,
        toutes_les_n_semaines=toutes_les_n_semaines,
    )
    _journaliser(acteur, "agenda.disponibilite.ajout", evenement=dispo, usager=None)
    return dispo


@transaction.atomic
def ajouter_absence(
    *,
    acteur: Acteur,
    debut: dt.datetime,
    fin: dt.datetime,
    motif: str = MotifAbsence.CONGE,
    commentaire: str = "",
) -> Absence:
    from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

    exercice = _exiger_professionnel(acteur)
    if motif not in MotifAbsence.values:
        raise ValidationError({"motif": "Motif d'absence inconnu."})
    if timezone.is_naive(debut) or timezone.is_naive(fin) or fin <= debut:
        raise ValidationError({"fin": "L'absence doit finir après son début."})
    try:
        with transaction.atomic():
            absence = Absence.objects.create(
                professionnel_id=exercice.professionnel_id,
                periode=DateTimeTZRange(debut, fin, "[)"),
                motif=motif,
                commentaire=(commentaire or "").strip()[:200],
            )
    except IntegrityError:
        raise ValidationError(
            {"debut": "Vous avez déjà une absence sur une partie de cette période."}
        ) from None
    _journaliser(acteur, "agenda.absence.ajout", evenement=absence, usager=None)
    return absence


@transaction.atomic
def flux_ics(*, acteur: Acteur, usager: Usager | None = None, tourner: bool = False) -> FluxIcs:
    """Le flux webcal privé de l'acteur (son agenda, ou celui d'un usager qu'il peut lire) ; créé
    au premier appel ; `tourner` remplace le jeton (l'ancienne adresse ne sert plus)."""
    if usager is None:
        _exiger_professionnel(acteur)
    elif not habilitations.peut(acteur, usager, "lire", DOMAINE):
        raise AccesRefuse("Vous n'avez pas accès à l'agenda de cette personne.")
    flux, cree = FluxIcs.objects.select_for_update().get_or_create(
        titulaire=acteur.cle, usager=usager, defaults={"compte": acteur.compte}
    )
    if tourner and not cree:
        flux.jeton = nouveau_jeton()
        flux.cree_le_jeton = timezone.now()
        flux.dernier_acces = None
        flux.save(update_fields=["jeton", "cree_le_jeton", "dernier_acces", "modifie_le"])
    if cree or tourner:
        _journaliser(
            acteur,
            "agenda.flux.rotation" if tourner and not cree else "agenda.flux.creation",
            evenement=flux,
            usager=usager,
        )
    return flux


# --- Occupations venues d'un calendrier extérieur -----------------------------------------------

SOURCE_FICHIER = "ics:fichier"
FENETRE_IMPORT = (dt.timedelta(days=30), dt.timedelta(days=365))


@transaction.atomic
def importer_occupations(*, acteur: Acteur, contenu: bytes, source: str = SOURCE_FICHIER) -> int:
    """Remplace les temps occupés de cette source par ceux du calendrier (du mois dernier à l'an
    prochain) : seulement les intervalles, jamais le contenu. Renvoie leur nombre."""
    from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

    from agenda import ics
    from agenda.models import OccupationExterne

    exercice = _exiger_professionnel(acteur)
    maintenant = timezone.now()
    intervalles = ics.occupations(
        ics.lire_calendrier(contenu), maintenant - FENETRE_IMPORT[0], maintenant + FENETRE_IMPORT[1]
    )
    OccupationExterne.objects.filter(professionnel_id=exercice.professionnel_id, source=source).delete()
    OccupationExterne.objects.bulk_create(
        OccupationExterne(
            professionnel_id=exercice.professionnel_id,
            source=source,
            uid=source,
            periode=DateTimeTZRange(intervalle.debut, intervalle.fin, "[)"),
        )
        for intervalle in intervalles
    )
    _journaliser(
        acteur,
        "agenda.occupations.import",
        usager=None,
        details={"source": source, "nombre": len(intervalles)},
    )
    return len(intervalles)


@transaction.atomic
def regler_agenda(
    *, acteur: Acteur, tampon_avant: dt.timedelta, tampon_apres: dt.timedelta, zone_feries: str = "metropole"
):
    """Le temps à garder libre avant et après une réunion (trajets) et la zone des jours fériés."""
    from agenda.disponibilites import ZONES_FERIES
    from agenda.models import ReglagesAgenda

    exercice = _exiger_professionnel(acteur)
    erreurs = {}
    for nom, valeur in (("tampon_avant", tampon_avant), ("tampon_apres", tampon_apres)):
        if not dt.timedelta(0) <= valeur <= dt.timedelta(hours=4):
            erreurs[nom] = "De 0 à 4 heures."
    if zone_feries not in ZONES_FERIES:
        erreurs["zone_feries"] = "Zone de jours fériés inconnue."
    if erreurs:
        raise ValidationError(erreurs)
    reglages, _ = ReglagesAgenda.objects.update_or_create(
        professionnel_id=exercice.professionnel_id,
        defaults={"tampon_avant": tampon_avant, "tampon_apres": tampon_apres, "zone_feries": zone_feries},
    )
    _journaliser(acteur, "agenda.reglages", usager=None)
    return reglages


@transaction.atomic
def definir_preferences(
    *, acteur: Acteur, usager: Usager, plages: Iterable[tuple[Iterable[int], dt.time, dt.time]]
):
    """Les moments que l'usager préfère pour ses rendez-vous (remplace les précédents) ; dits par
    l'usager, un proche ou un membre qui tient son agenda. Servent au classement des créneaux."""
    from agenda.models import PreferenceHoraire

    _exiger_ecriture(acteur, usager)
    lignes = []
    for jours, debut, fin in plages:
        jours = sorted(set(jours))
        if not jours or any(j not in range(7) for j in jours):
            raise ValidationError({"jours": "Choisissez au moins un jour de la semaine."})
        if fin <= debut:
            raise ValidationError({"heure_fin": "L'heure de fin doit venir après l'heure de début."})
        lignes.append(PreferenceHoraire(usager=usager, jours=jours, heure_debut=debut, heure_fin=fin))
    PreferenceHoraire.objects.filter(usager=usager).delete()
    PreferenceHoraire.objects.bulk_create(lignes)
    _journaliser(acteur, "agenda.preferences", usager=usager, details={"plages": len(lignes)})
    return lignes
