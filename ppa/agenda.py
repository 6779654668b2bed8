"""Les actions d'un projet personnalisé validé deviennent des rendez-vous récurrents de l'agenda
(ticket 7, point 4 ; ADR 0028, « Actions dans l'agenda »).

Appelé à la fin de la validation d'une version (`ppa.services._valider`, même transaction). Chaque
action qui a une fréquence (RRULE) et un intervenant professionnel (membre actif du cercle de type
professionnel ou structure) devient un événement de l'agenda, écrit **par les services de l'agenda
seulement**, au nom d'un acteur système « projet personnalisé » (le journal le dit), repéré par
`systeme_source="ppa"` et `identifiant_externe=str(action.origine)` : l'origine suit l'action d'une
version à ses avenants, donc valider un avenant met à jour le même événement (titre, fréquence,
durée, participants), annule ceux des actions retirées et crée ceux des nouvelles, sans doublon.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

from agenda import recurrence
from agenda import selectors as agenda_lectures
from agenda import services as agenda
from agenda.models import StatutEvenement
from cercle.models import StatutMembre, TypeMembre
from coordination.comptes.acteur import acteur_systeme
from ppa.models import Action

if TYPE_CHECKING:
    from agenda.models import Evenement
    from ppa.models import VersionPPA

SOURCE = "ppa"
FUSEAU = "Europe/Paris"
# Heure de début proposée (heure de Paris) : un créneau du matin que le professionnel déplace
# ensuite dans son agenda (la série garde son identifiant : l'avenant suivant ne la recrée pas).
HEURE_DEBUT = dt.time(9, 0)
DUREE_PAR_DEFAUT = 60  # minutes
NOM_SYSTEME = "projet personnalisé (actions validées)"


def _a_mettre_a_l_agenda(action: Action) -> bool:
    membre = action.intervenant
    return (
        bool(action.frequence.strip())
        and membre is not None
        and membre.statut == StatutMembre.ACTIF
        and membre.type in (TypeMembre.PROFESSIONNEL, TypeMembre.STRUCTURE)
    )


def _invites(action: Action, usager) -> list[agenda.Invite]:
    """L'usager, et le professionnel intervenant (une structure intervenante n'a personne à
    convier : elle est nommée dans la description)."""
    invites = [agenda.Invite(usager)]
    membre = action.intervenant
    if membre.type == TypeMembre.PROFESSIONNEL and membre.exercice_id:
        invites.append(agenda.Invite(membre.exercice))
    return invites


def _description(action: Action, version: VersionPPA) -> str:
    membre = action.intervenant
    intervenant = membre.structure.raison_sociale if membre.type == TypeMembre.STRUCTURE else str(membre)
    lignes = [
        # Sans numéro de version : un avenant qui ne change pas l'action ne réécrit pas l'événement.
        f"Action du projet personnalisé « {version.projet.titre} ».",
        f"Objectif : {action.objectif.titre}",
        f"Intervenant : {intervenant}",
    ]
    if action.ou:
        lignes.append(f"Où : {action.ou}")
    return "\n".join(lignes)


def _debut(version: VersionPPA) -> dt.datetime:
    """Le premier rendez-vous : au début de la période du projet, jamais avant le jour de la
    validation, à HEURE_DEBUT (heure de Paris)."""
    jour = version.validee_le.astimezone(ZoneInfo(FUSEAU)).date()
    if version.debut is not None and version.debut > jour:
        jour = version.debut
    return dt.datetime.combine(jour, HEURE_DEBUT, tzinfo=ZoneInfo(FUSEAU))


def _duree(action: Action) -> dt.timedelta:
    return dt.timedelta(minutes=action.duree_minutes or DUREE_PAR_DEFAUT)


def _creer(systeme, action: Action, version: VersionPPA) -> Evenement:
    usager = version.projet.usager
    debut = _debut(version)
    return agenda.creer_evenement(
        acteur=systeme, usager=usager, titre=action.quoi, debut=debut, fin=debut + _duree(action),
        fuseau=FUSEAU, rrule=action.frequence, description=_description(action, version),
        lieux=[{"libelle": action.ou}] if action.ou else [], invites=_invites(action, usager),
        systeme_source=SOURCE, identifiant_externe=str(action.origine),
    )  # fmt: skip


def _mettre_a_jour(systeme, evenement: Evenement, action: Action, version: VersionPPA) -> None:
    """Ne change que ce qui a changé (titre, fréquence, durée, lieu, description, participants) ;
    l'événement d'une action retirée puis remise par un avenant redevient réservé."""
    voulu = {
        "titre": action.quoi[:200],
        "rrule": recurrence.normaliser_rrule(action.frequence, evenement.debut),
        "fin": evenement.debut + _duree(action),
        "description": _description(action, version),
        "lieux": agenda.valider_lieux([{"libelle": action.ou}] if action.ou else []),
    }
    if evenement.statut == StatutEvenement.ANNULE:
        voulu["statut"] = StatutEvenement.RESERVE
    changements = {champ: valeur for champ, valeur in voulu.items() if getattr(evenement, champ) != valeur}
    if changements:
        evenement = agenda.modifier_evenement(acteur=systeme, evenement=evenement, **changements)
    # Sans changement de participants, le service n'écrit rien.
    agenda.remplacer_participants(
        acteur=systeme, evenement=evenement, invites=_invites(action, version.projet.usager)
    )


@contextmanager
def _pour_l_action(action: Action):
    """Une fréquence illisible est refusée en nommant l'action (rien n'est écrit : la validation
    entière est annulée)."""
    try:
        yield
    except ValidationError as erreur:
        raise ValidationError(
            f"L'action « {action.quoi} » ne peut pas être mise à l'agenda : {' '.join(erreur.messages)}"
        ) from None


def synchroniser(version: VersionPPA) -> dict[str, int]:
    """Met l'agenda en accord avec les actions de la version qui vient d'être validée : crée,
    met à jour, annule. Rend le nombre d'événements créés, modifiés (ou vérifiés) et annulés."""
    systeme = acteur_systeme(NOM_SYSTEME)
    usager = version.projet.usager
    actions = {
        str(a.origine): a
        for a in version.actions.select_related(
            "objectif", "intervenant__exercice__professionnel", "intervenant__structure",
            "intervenant__professionnel",
        )
        if _a_mettre_a_l_agenda(a)
    }  # fmt: skip
    # Les événements déjà posés pour ce projet : ceux des actions de ses versions précédentes.
    origines_du_projet = {
        str(o)
        for o in Action.objects.filter(version__projet=version.projet).values_list("origine", flat=True)
    }
    existants = {
        e.identifiant_externe: e
        for e in agenda_lectures.evenements_de_l_usager(systeme, usager)
        .filter(systeme_source=SOURCE, serie__isnull=True, identifiant_externe__in=origines_du_projet)
        .prefetch_related("participants")
    }
    compte = {"crees": 0, "mis_a_jour": 0, "annules": 0}
    for origine, action in actions.items():
        evenement = existants.get(origine)
        with _pour_l_action(action):
            if evenement is None:
                _creer(systeme, action, version)
                compte["crees"] += 1
            else:
                _mettre_a_jour(systeme, evenement, action, version)
                compte["mis_a_jour"] += 1
    for origine, evenement in existants.items():
        if origine not in actions and evenement.statut != StatutEvenement.ANNULE:
            agenda.annuler_evenement(
                acteur=systeme, evenement=evenement,
                motif=f"Action retirée du projet personnalisé (version {version.numero}).",
            )  # fmt: skip
            compte["annules"] += 1
    return compte
