"""Lectures de l'agenda, toujours au nom d'un acteur (cercle/habilitations.py).

Une fenêtre [début, fin) se lit en une requête d'événements (séries comprises : début avant la fin
de la fenêtre, fin de série après son début) et une de participants et d'occurrences remplacées ;
les séries sont dépliées en Python (agenda/recurrence.py), puis dédoublonnées (ADR 0021)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from agenda import recurrence
from agenda.models import Absence, Disponibilite, Evenement, Participant, StatutEvenement, StatutParticipation
from agenda.services import DOMAINE, serie_de
from cercle import habilitations
from cercle.services import AccesRefuse
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.personnes.models import Exercice, Professionnel, Usager

REFUS_LIRE = "Vous n'avez pas accès à l'agenda de cette personne."
FENETRE_MAX = dt.timedelta(days=400)


@dataclass
class Occurrence:
    """Une occurrence à afficher : l'événement (ou la série), ses horaires à cette date, et
    l'occurrence remplacée s'il y en a une (titre, statut, lieux qui lui sont propres)."""

    evenement: Evenement
    debut: dt.datetime
    fin: dt.datetime
    journee_entiere: bool
    recurrence_id: dt.datetime | None = None
    remplacement: Evenement | None = None
    sources: list[str] = field(default_factory=list)
    detail_visible: bool = True  # False : « Occupé » (le lecteur n'a plus accès à cet usager)

    @property
    def source(self) -> Evenement:
        return self.remplacement or self.evenement

    @property
    def titre(self) -> str:
        return self.source.titre if self.detail_visible else "Occupé"

    @property
    def statut(self) -> str:
        return self.source.statut

    @property
    def annule(self) -> bool:
        return self.statut == StatutEvenement.ANNULE

    @property
    def lieux(self) -> list[dict]:
        return self.source.lieux if self.detail_visible else []

    @property
    def participants(self) -> list[Participant]:
        return self.evenement.participants_precharges if self.detail_visible else []


def _verifier_fenetre(debut: dt.datetime, fin: dt.datetime) -> None:
    if fin <= debut or fin - debut > FENETRE_MAX:
        raise ValueError("Fenêtre d'agenda invalide (au plus 400 jours).")


def _dans_la_fenetre(debut: dt.datetime, fin: dt.datetime) -> Q:
    return Q(serie__isnull=True, debut__lt=fin) & (Q(fin_serie__gt=debut) | Q(fin_serie__isnull=True))


def _participants() -> QuerySet[Participant]:
    """Les participants d'un lot d'événements. Des personnes liées, seul l'identifiant public sert
    (références FHIR, adresses des pages) : le nom montré est celui du participant ; ne charger que
    lui allège chaque ligne (un usager compte près de trente colonnes)."""
    return (
        Participant.objects.select_related("usager", "proche", "professionnel", "exercice")
        .only(
            *(champ.name for champ in Participant._meta.concrete_fields),
            *(f"{personne}__uuid" for personne in ("usager", "proche", "professionnel", "exercice")),
        )
        .order_by("type", "nom", "pk")
    )


def _avec_details(evenements: QuerySet[Evenement]) -> QuerySet[Evenement]:
    return evenements.prefetch_related(
        Prefetch("participants", queryset=_participants(), to_attr="participants_precharges"),
        Prefetch("remplacements", to_attr="remplacements_precharges"),
    )


def deplier(evenements: Iterable[Evenement], debut: dt.datetime, fin: dt.datetime) -> list[Occurrence]:
    """Les occurrences de ces événements qui touchent [debut, fin), triées."""
    occurrences: list[Occurrence] = []
    for evenement in evenements:
        if not evenement.rrule:
            if evenement.debut < fin and evenement.fin > debut:
                occurrences.append(
                    Occurrence(evenement, evenement.debut, evenement.fin, evenement.journee_entiere)
                )
            continue
        remplacements = getattr(evenement, "remplacements_precharges", None)
        if remplacements is None:
            remplacements = list(evenement.remplacements.all())
        par_cle = {str(r.uuid): r for r in remplacements}
        for occurrence in recurrence.deplier(serie_de(evenement, remplacements), debut, fin):
            occurrences.append(
                Occurrence(
                    evenement,
                    occurrence.debut,
                    occurrence.fin,
                    occurrence.journee_entiere,
                    recurrence_id=occurrence.recurrence_id,
                    remplacement=par_cle.get(occurrence.cle),
                )
            )
    occurrences.sort(key=lambda o: (o.debut, o.fin, o.evenement.pk))
    return occurrences


def _cle_de_personnes(evenement: Evenement) -> frozenset:
    return frozenset(
        (p.type, p.professionnel_id or p.proche_id or p.usager_id) for p in evenement.participants_precharges
    )


def dedoublonner(occurrences: list[Occurrence]) -> list[Occurrence]:
    """Un même rendez-vous reçu de plusieurs sources (le DUI, Mon espace santé, le portail) ne
    s'affiche qu'une fois : même identifiant externe au même début, ou même horaire, même titre
    et mêmes personnes. La première vue est gardée (le portail d'abord), les sources s'additionnent."""
    gardees: list[Occurrence] = []
    vues: dict[tuple, Occurrence] = {}
    ordre = sorted(
        occurrences, key=lambda o: (o.debut, o.evenement.systeme_source != "portail", o.evenement.pk)
    )
    for occurrence in ordre:
        evenement = occurrence.evenement
        cles = [
            (
                "contenu",
                occurrence.debut,
                occurrence.fin,
                occurrence.source.titre.strip().casefold(),
                _cle_de_personnes(evenement),
            )
        ]
        if evenement.identifiant_externe:
            # Même identifiant et même début : deux logiciels sans lien peuvent numéroter pareil.
            cles.append(("externe", evenement.identifiant_externe, occurrence.debut))
        deja = next((vues[c] for c in cles if c in vues), None)
        if deja is not None and deja.evenement.pk != evenement.pk:
            if evenement.systeme_source not in deja.sources:
                deja.sources.append(evenement.systeme_source)
            continue
        occurrence.sources = [evenement.systeme_source]
        for cle in cles:
            vues.setdefault(cle, occurrence)
        gardees.append(occurrence)
    gardees.sort(key=lambda o: (o.debut, o.fin, o.evenement.pk))
    return gardees


# --- Agenda consolidé d'un usager ---------------------------------------------------------------


def peut_lire(acteur: Acteur | None, usager: Usager) -> bool:
    return habilitations.peut(acteur, usager, "lire", DOMAINE)


def evenements_de_l_usager(acteur: Acteur | None, usager: Usager) -> QuerySet[Evenement]:
    """Tous les événements (séries et simples) qui concernent l'usager, si l'acteur lit son agenda."""
    if not peut_lire(acteur, usager):
        return Evenement.objects.none()
    return Evenement.objects.filter(usager=usager)


def agenda_de_l_usager(
    acteur: Acteur | None, usager: Usager, debut: dt.datetime, fin: dt.datetime
) -> list[Occurrence]:
    """L'agenda consolidé de l'usager sur [debut, fin) : les rendez-vous de toutes les structures,
    ceux ajoutés par l'usager ou ses proches, dédoublonnés. Refus si l'acteur ne lit pas l'agenda."""
    _verifier_fenetre(debut, fin)
    if not peut_lire(acteur, usager):
        raise AccesRefuse(REFUS_LIRE)
    return dedoublonner(deplier(evenements_de_l_usager_sur(usager, debut, fin), debut, fin))


def evenements_de_l_usager_sur(usager: Usager, debut: dt.datetime, fin: dt.datetime) -> list[Evenement]:
    """Les séries et événements de l'usager qui touchent la fenêtre (sans contrôle : à n'appeler
    qu'après `peut_lire`), participants et séances remplacées préchargés : trois requêtes."""
    return list(_avec_details(Evenement.objects.filter(_dans_la_fenetre(debut, fin), usager=usager)))


# --- Agenda d'un professionnel ------------------------------------------------------------------


def _professionnel_de(acteur: Acteur | None) -> int:
    if acteur is None or acteur.type != TypeActeur.PROFESSIONNEL:
        raise AccesRefuse("Seul un professionnel connecté voit son agenda.")
    return acteur.exercice.professionnel_id


def q_participe(professionnel_id: int, *, avec_declines: bool = True) -> Q:
    participations = Participant.objects.filter(evenement=OuterRef("pk"), professionnel_id=professionnel_id)
    if not avec_declines:
        participations = participations.exclude(statut=StatutParticipation.DECLINE)
    return Q(Exists(participations))


def agenda_du_professionnel(acteur: Acteur | None, debut: dt.datetime, fin: dt.datetime) -> list[Occurrence]:
    """L'agenda du professionnel connecté, toutes ses structures : les événements où il est convié.
    Le détail d'un rendez-vous d'un usager dont il ne lit plus l'agenda devient « Occupé »."""
    _verifier_fenetre(debut, fin)
    professionnel_id = _professionnel_de(acteur)
    evenements = evenements_du_professionnel_sur(professionnel_id, debut, fin)
    lisibles = usagers_lisibles(acteur, evenements)
    occurrences = deplier(evenements, debut, fin)
    for occurrence in occurrences:
        occurrence.detail_visible = (
            occurrence.evenement.usager_id in lisibles or not occurrence.evenement.usager_id
        )
        occurrence.sources = [occurrence.evenement.systeme_source]
    return occurrences


def evenements_du_professionnel_sur(
    professionnel_id: int, debut: dt.datetime, fin: dt.datetime
) -> list[Evenement]:
    """Les séries et événements où le professionnel est convié (toutes structures), qui touchent la
    fenêtre, avec participants et séances remplacées : trois requêtes."""
    return list(
        _avec_details(Evenement.objects.filter(_dans_la_fenetre(debut, fin), q_participe(professionnel_id)))
    )


def usagers_lisibles(acteur: Acteur, evenements: Iterable[Evenement]) -> set[int]:
    """Parmi les usagers de ces événements, ceux dont l'acteur lit l'agenda (une requête au plus)."""
    usagers = sorted({e.usager_id for e in evenements if e.usager_id})
    if not usagers:
        return set()
    requis = habilitations.niveau_requis("lire")
    return {
        u
        for u, niveaux in habilitations.niveaux_de_plusieurs(acteur, usagers).items()
        if niveaux[DOMAINE] >= requis
    }


def absences_du_professionnel(
    acteur: Acteur | None, debut: dt.datetime, fin: dt.datetime
) -> QuerySet[Absence]:
    professionnel_id = _professionnel_de(acteur)
    return Absence.objects.filter(professionnel_id=professionnel_id, periode__overlap=(debut, fin)).order_by(
        "periode"
    )


# --- Un événement ---------------------------------------------------------------------------------


def participation_de(acteur: Acteur | None, evenement: Evenement) -> Participant | None:
    """La ligne de participant de l'acteur (parmi les participants préchargés), ou None."""
    if acteur is None:
        return None
    participants = getattr(evenement, "participants_precharges", None)
    for p in evenement.participants.all() if participants is None else participants:
        if acteur.type == TypeActeur.PROFESSIONNEL and p.professionnel_id == acteur.exercice.professionnel_id:
            return p
        if acteur.type == TypeActeur.PROCHE and p.proche_id == acteur.proche.pk:
            return p
        if acteur.type == TypeActeur.USAGER and p.usager_id == acteur.usager.pk:
            return p
    return None


def evenement_visible(acteur: Acteur | None, evenement_uuid) -> Evenement | None:
    """L'événement (ou la série) de l'adresse si l'acteur peut le voir : il lit l'agenda de l'usager
    concerné, ou il y est convié, ou il l'a créé. Sinon None (404 : il n'existe pas pour lui)."""
    if acteur is None:
        return None
    evenement = (
        _avec_details(Evenement.objects.filter(uuid=evenement_uuid, serie__isnull=True))
        .select_related("usager")
        .first()
    )
    if evenement is None:
        return None
    if evenement.usager_id is not None and peut_lire(acteur, evenement.usager):
        return evenement
    if evenement.cree_par == acteur.cle or participation_de(acteur, evenement) is not None:
        return evenement
    return None


def evenements_lisibles(acteur: Acteur | None) -> QuerySet[Evenement]:
    """Les séries et événements simples que l'acteur peut voir, selon les règles d'`evenement_visible`
    (il lit l'agenda de l'usager concerné, il y est convié, ou il l'a créé), en un queryset filtrable
    et paginable (API FHIR), participants et séances remplacées préchargés."""
    if acteur is None:
        return Evenement.objects.none()
    condition = Q(usager__in=habilitations.usagers_visibles(acteur, DOMAINE, "lire")) | Q(cree_par=acteur.cle)
    convie = None
    if acteur.type == TypeActeur.PROFESSIONNEL:
        convie = Participant.objects.filter(professionnel_id=acteur.exercice.professionnel_id)
    elif acteur.type == TypeActeur.PROCHE:
        convie = Participant.objects.filter(proche_id=acteur.proche.pk)
    elif acteur.type == TypeActeur.USAGER:
        convie = Participant.objects.filter(usager_id=acteur.usager.pk)
    if convie is not None:
        condition |= Q(Exists(convie.filter(evenement=OuterRef("pk"))))
    return _avec_details(Evenement.objects.filter(condition, serie__isnull=True)).select_related("usager")


def _disponibilites() -> QuerySet[Disponibilite]:
    return Disponibilite.objects.select_related("exercice__structure").order_by("jours", "heure_debut")


def _absences_a_venir() -> QuerySet[Absence]:
    return Absence.objects.filter(periode__endswith__gt=timezone.now()).order_by("periode")


def disponibilites_du_professionnel(professionnel_id: int) -> list[Disponibilite]:
    return list(_disponibilites().filter(professionnel_id=professionnel_id))


def absences_a_venir(professionnel_id: int) -> list[Absence]:
    return list(_absences_a_venir().filter(professionnel_id=professionnel_id))


def agendas_lisibles(acteur: Acteur | None) -> QuerySet[Professionnel]:
    """`professionnels_a_l_agenda_lisible`, chacun avec ses disponibilités (`plages_lues`), ses
    absences à venir (`absences_lues`) et ses situations d'exercice (`exercices_lus`) préchargées :
    quatre requêtes pour une page d'agendas, quel que soit leur nombre."""
    return (
        professionnels_a_l_agenda_lisible(acteur)
        .distinct()
        .prefetch_related(
            Prefetch("disponibilites", queryset=_disponibilites(), to_attr="plages_lues"),
            Prefetch("absences", queryset=_absences_a_venir(), to_attr="absences_lues"),
            Prefetch("exercices", queryset=Exercice.objects.order_by("pk"), to_attr="exercices_lus"),
        )
    )


def professionnels_a_l_agenda_lisible(acteur: Acteur | None) -> QuerySet[Professionnel]:
    """Les professionnels dont l'acteur lit l'agenda en libre / occupé (disponibilités, absences sans
    leur motif, créneaux libres et occupés sans le détail des rendez-vous ; API FHIR GAP) :
    - un professionnel : lui-même, quelle que soit la situation d'exercice en laquelle il agit (son
      agenda réunit toutes ses structures), comme `agenda_du_professionnel` ;
    - le logiciel (DUI) d'une structure : ceux qui y exercent aujourd'hui, pour leur proposer des
      rendez-vous (ADR 0025) ;
    - aucun pour les autres acteurs."""
    if acteur is not None and acteur.type == TypeActeur.LOGICIEL and acteur.structure_logiciel is not None:
        jour = timezone.localdate()
        exerce_ici = Exercice.objects.filter(
            Q(date_debut__isnull=True) | Q(date_debut__lte=jour),
            Q(date_fin__isnull=True) | Q(date_fin__gte=jour),
            professionnel=OuterRef("pk"),
            structure=acteur.structure_logiciel,
        )
        return Professionnel.objects.filter(Exists(exerce_ici))
    try:
        professionnel_id = _professionnel_de(acteur)
    except AccesRefuse:
        return Professionnel.objects.none()
    return Professionnel.objects.filter(pk=professionnel_id)
