"""Réunions de coordination (cas d'usage 4 et 4') : chercher le meilleur créneau commun, le tenir
dans chaque agenda, recueillir les réponses et contre-propositions, confirmer, déplacer, annuler.

Le calcul des créneaux est celui de `agenda/creneaux.py` (moteur pur) ; ce module lui fournit,
pour chaque personne conviée, ses disponibilités (plages déclarées, ou des heures par défaut),
ses occupations (rendez-vous non déclinés, absences, fériés de sa zone, calendriers extérieurs),
son temps libre avant et après, et les préférences de l'usager (ADR 0021)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from agenda import creneaux, disponibilites, selectors
from agenda import services as agenda
from agenda.intervalles import Intervalle
from agenda.models import (
    Absence,
    ContreProposition,
    DemandeReunion,
    Disponibilite,
    Evenement,
    NatureEvenementAgenda,
    NotificationAgenda,
    OccupationExterne,
    Participant,
    PreferenceHoraire,
    ReglagesAgenda,
    StatutDemande,
    StatutEvenement,
    StatutParticipation,
    TypeParticipant,
)
from cercle.services import AccesRefuse
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.notifications import services as notifications
from coordination.personnes.models import Exercice, Professionnel, Usager

# Sans plage déclarée : un professionnel est joignable en semaine de 8 h à 19 h ; l'usager et ses
# proches tous les jours de 8 h à 20 h (leurs rendez-vous restent des occupations).
HEURES_PRO = disponibilites.Plage(jours=frozenset(range(5)), heure_debut=dt.time(8), heure_fin=dt.time(19))
HEURES_USAGER = disponibilites.Plage(jours=frozenset(range(7)), heure_debut=dt.time(8), heure_fin=dt.time(20))
HORIZON_MAX = dt.timedelta(weeks=12)
REFUS_DEMANDE = "Seul le professionnel qui a demandé cette réunion peut la modifier."


# --- Qui est libre quand --------------------------------------------------------------------------


def _plage(dispo: Disponibilite | PreferenceHoraire) -> disponibilites.Plage:
    return disponibilites.Plage(
        jours=frozenset(dispo.jours),
        heure_debut=dispo.heure_debut,
        heure_fin=dispo.heure_fin,
        fuseau=getattr(dispo, "fuseau", "Europe/Paris"),
        du=getattr(dispo, "du", None),
        au=getattr(dispo, "au", None),
        toutes_les_n_semaines=getattr(dispo, "toutes_les_n_semaines", 1),
    )


def _cle(participant: Participant) -> str:
    if participant.type == TypeParticipant.PROFESSIONNEL:
        return f"professionnel:{participant.professionnel_id}"
    if participant.type == TypeParticipant.PROCHE:
        return f"proche:{participant.proche_id}"
    return f"usager:{participant.usager_id}"


def occupations(
    participants: Sequence[Participant],
    debut: dt.datetime,
    fin: dt.datetime,
    *,
    sauf: Evenement | None = None,
) -> dict[str, list[Intervalle]]:
    """Les temps occupés de chaque participant sur [debut, fin), par clé (`_cle`) : ses rendez-vous
    (sauf déclinés ou annulés, et sauf `sauf`, la réunion qu'on déplace), ses absences, ses
    occupations extérieures ; pour l'usager, tout son agenda. Quatre requêtes pour tous."""
    pros = {p.professionnel_id for p in participants if p.professionnel_id}
    proches = {p.proche_id for p in participants if p.proche_id}
    usagers = {p.usager_id for p in participants if p.usager_id}
    pris: dict[str, list[Intervalle]] = defaultdict(list)
    conviees = Participant.objects.filter(evenement=OuterRef("pk")).exclude(
        statut=StatutParticipation.DECLINE
    )
    evenements = (
        Evenement.objects.filter(selectors._dans_la_fenetre(debut, fin))
        .exclude(statut=StatutEvenement.ANNULE)
        .filter(
            Exists(conviees.filter(professionnel_id__in=pros))
            | Exists(conviees.filter(proche_id__in=proches))
            | Q(usager_id__in=usagers)
        )
    )
    if sauf is not None:
        evenements = evenements.exclude(pk=sauf.pk)
    for occurrence in selectors.deplier(selectors._avec_details(evenements), debut, fin):
        if occurrence.annule:
            continue
        intervalle = Intervalle(occurrence.debut, occurrence.fin)
        if occurrence.evenement.usager_id in usagers:
            pris[f"usager:{occurrence.evenement.usager_id}"].append(intervalle)
        for p in occurrence.evenement.participants_precharges:
            if p.statut != StatutParticipation.DECLINE and (
                p.professionnel_id in pros or p.proche_id in proches
            ):
                pris[_cle(p)].append(intervalle)
    for absence in Absence.objects.filter(professionnel_id__in=pros, periode__overlap=(debut, fin)):
        pris[f"professionnel:{absence.professionnel_id}"].append(
            Intervalle(absence.periode.lower, absence.periode.upper)
        )
    for externe in OccupationExterne.objects.filter(professionnel_id__in=pros, periode__overlap=(debut, fin)):
        pris[f"professionnel:{externe.professionnel_id}"].append(
            Intervalle(externe.periode.lower, externe.periode.upper)
        )
    return pris


def plages_du_participant(plages: dict[int, list[Disponibilite]], participant: Participant) -> list:
    """Les plages d'un professionnel convié : celles valables pour toutes ses structures et celles
    de la structure au titre de laquelle il vient ; sans situation d'exercice précisée (son agenda
    toutes structures, servi en Schedule FHIR), toutes ses plages."""
    return [
        d
        for d in plages.get(participant.professionnel_id, ())
        if participant.exercice_id is None or d.exercice_id in (None, participant.exercice_id)
    ]


def participants_du_moteur(
    participants: Sequence[Participant],
    debut: dt.datetime,
    fin: dt.datetime,
    *,
    sauf: Evenement | None = None,
) -> list[creneaux.Participant]:
    """Chaque personne conviée telle que le moteur de créneaux la voit."""
    pros = {p.professionnel_id for p in participants if p.professionnel_id}
    usagers = {p.usager_id for p in participants if p.usager_id}
    plages: dict[int, list[Disponibilite]] = defaultdict(list)
    for dispo in Disponibilite.objects.filter(professionnel_id__in=pros):
        plages[dispo.professionnel_id].append(dispo)
    reglages = {r.professionnel_id: r for r in ReglagesAgenda.objects.filter(professionnel_id__in=pros)}
    preferences = [_plage(p) for p in PreferenceHoraire.objects.filter(usager_id__in=usagers)]
    pris = occupations(participants, debut, fin, sauf=sauf)
    feries_par_zone: dict[str, list[Intervalle]] = {}
    moteur = []
    for p in participants:
        cle = _cle(p)
        tampon_avant = tampon_apres = dt.timedelta(0)
        occupe = list(pris.get(cle, ()))
        prefere: tuple[Intervalle, ...] = ()
        if p.professionnel_id:
            siennes = plages_du_participant(plages, p)
            ouvert = disponibilites.deplier_plages([_plage(d) for d in siennes] or [HEURES_PRO], debut, fin)
            reglage = reglages.get(p.professionnel_id)
            zone = reglage.zone_feries if reglage else "metropole"
            if zone not in feries_par_zone:
                feries_par_zone[zone] = disponibilites.occupations_feries(debut, fin, zone=zone)
            occupe += feries_par_zone[zone]
            if reglage:
                tampon_avant, tampon_apres = reglage.tampon_avant, reglage.tampon_apres
        else:
            ouvert = disponibilites.deplier_plages([HEURES_USAGER], debut, fin)
            if p.usager_id and preferences:
                prefere = tuple(disponibilites.deplier_plages(preferences, debut, fin))
        moteur.append(
            creneaux.Participant(
                cle=cle,
                nom=p.nom,
                disponibilites=tuple(ouvert),
                occupations=tuple(sorted(occupe)),
                requis=p.requis,
                tampon_avant=tampon_avant,
                tampon_apres=tampon_apres,
                preferences=prefere,
            )
        )
    return moteur


def libre_et_occupe(
    professionnel: Professionnel, debut: dt.datetime, fin: dt.datetime
) -> tuple[list[Intervalle], list[Intervalle]]:
    """L'agenda d'un professionnel, toutes structures, sur [debut, fin), tel que le moteur le voit
    (créneaux FHIR Slot) : où une rencontre peut se tenir (`creneaux.libre` : toutes ses plages, ou
    les heures par défaut, moins ses occupations élargies de ses temps libres), et ses occupations
    (rendez-vous non déclinés, absences, fériés, calendriers extérieurs) unies et rognées à la fenêtre."""
    personne = Participant(
        type=TypeParticipant.PROFESSIONNEL, professionnel=professionnel, nom=str(professionnel)[:200]
    )
    moteur = participants_du_moteur([personne], debut, fin)[0]
    fenetre = Intervalle(debut, fin)
    occupe = disponibilites.fusionner(
        Intervalle(max(o.debut, fenetre.debut), min(o.fin, fenetre.fin))
        for o in moteur.occupations
        if o.chevauche(fenetre)
    )
    return creneaux.libre(moteur), occupe


def _valider_horizon(duree: dt.timedelta, debut: dt.datetime, fin: dt.datetime) -> None:
    if duree <= dt.timedelta(0) or duree > dt.timedelta(hours=8):
        raise ValidationError({"duree": "La durée d'une réunion va de quelques minutes à 8 heures."})
    if fin <= debut:
        raise ValidationError(
            {"horizon_fin": "La fin de la période de recherche doit venir après son début."}
        )
    if fin - debut > HORIZON_MAX:
        raise ValidationError({"horizon_fin": "Cherchez sur 12 semaines au plus."})


def _invites_en_participants(
    acteur: Acteur, usager: Usager | None, invites: Iterable[agenda.Invite]
) -> list[Participant]:
    participants = agenda._participants(acteur, usager, invites)
    if len(participants) < 2:
        raise ValidationError({"participants": "Choisissez au moins une autre personne à réunir."})
    return participants


def _exiger_demandeur(acteur: Acteur | None, usager: Usager | None) -> Exercice:
    if acteur is None or acteur.type != TypeActeur.PROFESSIONNEL:
        raise AccesRefuse("Seul un professionnel peut demander une réunion de coordination.")
    agenda._exiger_ecriture(acteur, usager)
    return acteur.exercice


def proposer_creneaux(
    *,
    acteur: Acteur,
    usager: Usager | None,
    invites: Iterable[agenda.Invite],
    duree: dt.timedelta,
    debut: dt.datetime,
    fin: dt.datetime,
    nombre: int = 8,
) -> creneaux.Resultat:
    """Les meilleurs créneaux pour réunir ces personnes (rien n'est écrit)."""
    exercice = _exiger_demandeur(acteur, usager)
    _valider_horizon(duree, debut, fin)
    participants = _invites_en_participants(acteur, usager, [*invites, agenda.Invite(exercice)])
    return creneaux.chercher_creneaux(
        participants_du_moteur(participants, debut, fin),
        duree=duree,
        debut=debut,
        fin=fin,
        maintenant=timezone.now(),
        nombre=nombre,
    )


# --- Notifications --------------------------------------------------------------------------------


def notifier(nature: str, evenement: Evenement, *, sauf: Acteur | None = None) -> NotificationAgenda:
    """Range une notification pour les participants (sauf l'auteur), dans la transaction en cours."""
    notification = NotificationAgenda.objects.create(nature=nature, evenement=evenement)
    destinataires = list(evenement.participants.all())
    if sauf is not None:
        moi = agenda._moi(sauf)
        if moi is not None:
            filtre = agenda._filtre_participant(moi.personne)
            exclus = set(evenement.participants.filter(**filtre).values_list("pk", flat=True))
            destinataires = [d for d in destinataires if d.pk not in exclus]
    notification.destinataires.add(*destinataires)
    notifications.distribuer_apres_validation()
    return notification


# --- Demander, répondre, conclure -----------------------------------------------------------------


@transaction.atomic
def demander_reunion(
    *,
    acteur: Acteur,
    usager: Usager | None,
    invites: Iterable[agenda.Invite],
    titre: str,
    motif: str = "",
    duree: dt.timedelta,
    horizon_debut: dt.datetime,
    horizon_fin: dt.datetime,
    date_limite: dt.datetime,
    debut: dt.datetime,
    lieux: Iterable[dict] = (),
) -> DemandeReunion:
    """Demande la réunion au créneau choisi (`debut`) : il est tenu dans chaque agenda (« en
    attente ») jusqu'aux réponses. Le créneau doit être libre pour chaque personne requise."""
    exercice = _exiger_demandeur(acteur, usager)
    _valider_horizon(duree, horizon_debut, horizon_fin)
    invites = list(invites)
    maintenant = timezone.now()
    if date_limite <= maintenant:
        raise ValidationError({"date_limite": "La date limite de réponse doit être dans le futur."})
    if date_limite > debut:
        raise ValidationError({"date_limite": "Les réponses doivent arriver avant la réunion."})
    participants = _invites_en_participants(acteur, usager, [*invites, agenda.Invite(exercice)])
    _verifier_libre(participants, debut, debut + duree)
    evenement = agenda.creer_evenement(
        acteur=acteur,
        usager=usager,
        titre=titre,
        motif=motif,
        debut=debut,
        fin=debut + duree,
        lieux=lieux,
        invites=[*invites, agenda.Invite(exercice)],
        statut=StatutEvenement.EN_ATTENTE,
    )
    demande = DemandeReunion.objects.create(
        evenement=evenement,
        demandeur=exercice,
        duree=duree,
        horizon_debut=horizon_debut,
        horizon_fin=horizon_fin,
        date_limite=date_limite,
    )
    notifier(NatureEvenementAgenda.REUNION_DEMANDEE, evenement, sauf=acteur)
    return demande


def _verifier_libre(
    participants: Sequence[Participant], debut: dt.datetime, fin: dt.datetime, *, sauf=None
) -> None:
    """Le créneau est-il libre pour chaque personne requise (il a pu être pris depuis la recherche) ?"""
    marge = dt.timedelta(hours=6)  # assez pour voir les occupations et les temps libres autour
    moteur = participants_du_moteur(participants, debut - marge, fin + marge, sauf=sauf)
    requis = {p.cle for p in moteur if p.requis}
    manquent = [p.nom for p in moteur if p.cle in set(creneaux.absents(moteur, debut, fin)) & requis]
    if manquent:
        raise ValidationError(
            {"debut": f"Ce créneau n'est pas libre pour : {', '.join(manquent)}. Choisissez-en un autre."}
        )


def _verrouiller(demande: DemandeReunion) -> DemandeReunion:
    return DemandeReunion.objects.select_for_update().select_related("evenement").get(pk=demande.pk)


def _exiger_ouverte(demande: DemandeReunion) -> None:
    if demande.statut != StatutDemande.OUVERTE:
        raise ValidationError(f"Cette demande de réunion est close ({demande.get_statut_display()}).")


def _conclure_si_complet(acteur: Acteur, demande: DemandeReunion) -> DemandeReunion:
    """Tous les participants requis ont accepté : la réunion est confirmée dans chaque agenda."""
    requis = demande.evenement.participants.filter(requis=True)
    if requis.exclude(statut=StatutParticipation.ACCEPTE).exists():
        return demande
    evenement = demande.evenement
    Evenement.objects.filter(pk=evenement.pk).update(
        statut=StatutEvenement.RESERVE, sequence=F("sequence") + 1
    )
    demande.statut = StatutDemande.RESERVEE
    demande.conclue_le = timezone.now()
    demande.save(update_fields=["statut", "conclue_le", "modifie_le"])
    evenement.refresh_from_db()
    notifier(NatureEvenementAgenda.REUNION_CONFIRMEE, evenement)
    agenda._journaliser(acteur, "agenda.reunion.confirmation", evenement=evenement, usager=evenement.usager)
    return demande


@transaction.atomic
def repondre(*, acteur: Acteur, demande: DemandeReunion, statut: str) -> DemandeReunion:
    """Accepter ou décliner la réunion ; la dernière acceptation requise la confirme."""
    demande = _verrouiller(demande)
    _exiger_ouverte(demande)
    agenda.repondre(acteur=acteur, evenement=demande.evenement, statut=statut)
    if statut == StatutParticipation.DECLINE:
        notifier(NatureEvenementAgenda.CONTRE_PROPOSITION, demande.evenement, sauf=acteur)
    return _conclure_si_complet(acteur, demande)


@transaction.atomic
def contre_proposer(
    *,
    acteur: Acteur,
    demande: DemandeReunion,
    debut: dt.datetime,
    fin: dt.datetime | None = None,
    commentaire: str = "",
) -> ContreProposition:
    """Un participant propose un autre créneau (sa réponse devient « peut-être »)."""
    demande = _verrouiller(demande)
    _exiger_ouverte(demande)
    participant = agenda.repondre(
        acteur=acteur, evenement=demande.evenement, statut=StatutParticipation.PROVISOIRE
    )
    fin = fin or debut + demande.duree
    if timezone.is_naive(debut) or fin <= debut:
        raise ValidationError({"debut": "Indiquez un créneau valide (début avant la fin)."})
    if debut < timezone.now():
        raise ValidationError({"debut": "Proposez un créneau à venir."})
    proposition = ContreProposition.objects.create(
        demande=demande,
        participant=participant,
        debut=debut,
        fin=fin,
        commentaire=(commentaire or "").strip()[:300],
    )
    notifier(NatureEvenementAgenda.CONTRE_PROPOSITION, demande.evenement, sauf=acteur)
    agenda._journaliser(
        acteur,
        "agenda.reunion.contre_proposition",
        evenement=demande.evenement,
        usager=demande.evenement.usager,
        details={"debut": debut.isoformat()},
    )
    return proposition


def est_demandeur(acteur: Acteur | None, demande: DemandeReunion) -> bool:
    return (
        acteur is not None
        and acteur.type == TypeActeur.PROFESSIONNEL
        and acteur.exercice.professionnel_id == demande.demandeur.professionnel_id
    )


def _exiger_demandeur_de(acteur: Acteur | None, demande: DemandeReunion) -> None:
    if not est_demandeur(acteur, demande):
        raise AccesRefuse(REFUS_DEMANDE)


@transaction.atomic
def deplacer(
    *,
    acteur: Acteur,
    demande: DemandeReunion,
    debut: dt.datetime,
    proposition: ContreProposition | None = None,
) -> DemandeReunion:
    """Le demandeur retient un autre créneau (une contre-proposition, ou un créneau de la liste) :
    la réunion est déplacée dans chaque agenda et chacun doit répondre à nouveau (sauf le demandeur
    et l'auteur de la contre-proposition retenue)."""
    _exiger_demandeur_de(acteur, demande)
    demande = _verrouiller(demande)
    if demande.statut not in (StatutDemande.OUVERTE, StatutDemande.RESERVEE):
        _exiger_ouverte(demande)
    evenement = demande.evenement
    fin = proposition.fin if proposition else debut + demande.duree
    participants = list(evenement.participants.all())
    _verifier_libre(participants, debut, fin, sauf=evenement)
    Evenement.objects.filter(pk=evenement.pk).update(
        debut=debut, fin=fin, fin_serie=fin, statut=StatutEvenement.EN_ATTENTE, sequence=F("sequence") + 1
    )
    gardent = {demande.demandeur.professionnel_id}
    evenement.participants.exclude(professionnel_id__in=gardent).update(
        statut=StatutParticipation.A_REPONDRE, repondu_le=None
    )
    if proposition is not None:
        if proposition.demande_id != demande.pk:
            raise ValidationError("Cette proposition ne concerne pas cette réunion.")
        Participant.objects.filter(pk=proposition.participant_id).update(
            statut=StatutParticipation.ACCEPTE, repondu_le=timezone.now()
        )
        ContreProposition.objects.filter(pk=proposition.pk).update(retenue_le=timezone.now())
    demande.statut = StatutDemande.OUVERTE
    demande.conclue_le = None
    demande.save(update_fields=["statut", "conclue_le", "modifie_le"])
    evenement.refresh_from_db()
    notifier(NatureEvenementAgenda.REUNION_DEPLACEE, evenement, sauf=acteur)
    agenda._journaliser(
        acteur,
        "agenda.reunion.deplacement",
        evenement=evenement,
        usager=evenement.usager,
        details={"debut": debut.isoformat()},
    )
    return _conclure_si_complet(acteur, demande)


@transaction.atomic
def annuler(*, acteur: Acteur, demande: DemandeReunion, motif: str = "") -> DemandeReunion:
    _exiger_demandeur_de(acteur, demande)
    demande = _verrouiller(demande)
    if demande.statut in (StatutDemande.ANNULEE, StatutDemande.EXPIREE):
        return demande
    agenda.annuler_evenement(acteur=acteur, evenement=demande.evenement, motif=motif)
    demande.statut = StatutDemande.ANNULEE
    demande.conclue_le = timezone.now()
    demande.save(update_fields=["statut", "conclue_le", "modifie_le"])
    notifier(NatureEvenementAgenda.REUNION_ANNULEE, demande.evenement, sauf=acteur)
    return demande


def expirer_demandes(maintenant: dt.datetime | None = None) -> int:
    """Les demandes encore ouvertes à leur date limite libèrent le créneau tenu (tâche périodique)."""
    from coordination.comptes.acteur import acteur_systeme

    maintenant = maintenant or timezone.now()
    systeme = acteur_systeme("expiration des demandes de réunion")
    nombre = 0
    for demande_id in DemandeReunion.objects.filter(
        statut=StatutDemande.OUVERTE, date_limite__lte=maintenant
    ).values_list("pk", flat=True):
        with transaction.atomic():
            demande = (
                DemandeReunion.objects.select_for_update(skip_locked=True)
                .filter(pk=demande_id, statut=StatutDemande.OUVERTE)
                .first()
            )
            if demande is None:
                continue
            evenement = demande.evenement
            Evenement.objects.filter(pk=evenement.pk).update(
                statut=StatutEvenement.ANNULE, sequence=F("sequence") + 1
            )
            demande.statut = StatutDemande.EXPIREE
            demande.conclue_le = maintenant
            demande.save(update_fields=["statut", "conclue_le", "modifie_le"])
            notifier(NatureEvenementAgenda.REUNION_EXPIREE, evenement)
            agenda._journaliser(
                systeme, "agenda.reunion.expiration", evenement=evenement, usager=evenement.usager
            )
            nombre += 1
    return nombre


def demandes_a_traiter(acteur: Acteur | None) -> list[DemandeReunion]:
    """Les demandes ouvertes où l'acteur (professionnel, usager, proche) est convié."""
    moi = agenda._moi(acteur) if acteur is not None else None
    if moi is None:
        return []
    filtre = {f"evenement__participants__{k}": v for k, v in agenda._filtre_participant(moi.personne).items()}
    return list(
        DemandeReunion.objects.filter(statut=StatutDemande.OUVERTE, **filtre)
        .select_related("evenement", "demandeur__professionnel")
        .order_by("date_limite")
    )


# --- Avertissements à la prise de rendez-vous -----------------------------------------------------


def avertissements(evenement: Evenement) -> list[str]:
    """Ce qu'il faut signaler quand un rendez-vous (sa première occurrence) tombe pendant une
    absence d'un professionnel convié, un jour férié de sa zone, hors de ses disponibilités
    déclarées, ou sur un autre de ses rendez-vous. Le motif d'une absence n'est jamais dit."""
    debut, fin = evenement.debut, evenement.fin
    participants = [p for p in evenement.participants.all() if p.professionnel_id]
    if not participants or evenement.statut == StatutEvenement.ANNULE:
        return []
    pros = {p.professionnel_id: p.nom for p in participants}
    messages = []
    absents = set(
        Absence.objects.filter(professionnel_id__in=pros, periode__overlap=(debut, fin)).values_list(
            "professionnel_id", flat=True
        )
    )
    for pro in sorted(absents, key=pros.get):
        messages.append(f"{pros[pro]} est absent·e à ce moment-là.")
    zones = dict(
        ReglagesAgenda.objects.filter(professionnel_id__in=pros).values_list(
            "professionnel_id", "zone_feries"
        )
    )
    for pro, nom in pros.items():
        feries = disponibilites.jours_feries(
            timezone.localtime(debut).date(), timezone.localtime(fin).date(), zone=zones.get(pro, "metropole")
        )
        if feries:
            messages.append(f"C'est un jour férié pour {nom} ({feries[0][1]}).")
    plages: dict[int, list] = defaultdict(list)
    for dispo in Disponibilite.objects.filter(professionnel_id__in=pros):
        plages[dispo.professionnel_id].append(dispo)
    for participant in participants:
        siennes = plages_du_participant(plages, participant)
        if siennes and not any(
            o.contient(Intervalle(debut, fin))
            for o in disponibilites.deplier_plages(
                [_plage(d) for d in siennes], debut, fin + dt.timedelta(seconds=1)
            )
        ):
            messages.append(f"C'est en dehors des disponibilités déclarées de {participant.nom}.")
    pris = occupations(participants, debut, fin, sauf=evenement)
    for participant in participants:
        if participant.professionnel_id not in absents and any(
            i.chevauche(Intervalle(debut, fin)) for i in pris.get(_cle(participant), ())
        ):
            messages.append(f"{participant.nom} a déjà un rendez-vous à cette heure-là.")
    return messages
