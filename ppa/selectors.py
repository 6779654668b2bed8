"""Lectures du projet personnalisé, toujours à partir de l'acteur (ADR 0028) : l'habilitation
`ppa` en lecture (cercle/habilitations.py, seule source des droits), chaque lecture notée au journal
(`coordination.journal.lectures.noter_lecture` : groupée par requête HTTP, écrite tout de suite
hors requête). Sans droit : None pour une version désignée par son UUID (404 : elle n'existe pas
pour lui, ADR 0008), AccesRefuse pour les projets d'une personne déjà connue ; rien n'est journalisé.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet, Value, prefetch_related_objects

from cercle import habilitations
from cercle.models import Domaine
from cercle.services import AccesRefuse
from coordination.journal.lectures import noter_lecture
from ppa.differentiel import Differentiel, comparer
from ppa.models import Action, Besoin, Objectif, ProjetPersonnalise, VersionPPA

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur
    from coordination.personnes.models import Usager

DOMAINE = Domaine.PPA
LECTURE_VERSION = "ppa.version.lecture"
LECTURE_PROJETS = "ppa.projets.lecture"


def _peut_lire(acteur: Acteur | None, usager_id: int) -> bool:
    return acteur is not None and habilitations.peut(acteur, usager_id, "lire", DOMAINE)


def _versions() -> QuerySet[VersionPPA]:
    return VersionPPA.objects.select_related("projet__usager", "projet__structure")


def _version_si_lisible(acteur: Acteur | None, version_uuid, request) -> VersionPPA | None:
    if acteur is None:
        return None
    try:
        version = _versions().filter(uuid=version_uuid).first()
    except ValidationError:  # UUID mal formé : comme une version inconnue
        return None
    if version is None or not _peut_lire(acteur, version.projet.usager_id):
        return None
    noter_lecture(request, usager=version.projet.usager, objet=version, action=LECTURE_VERSION, acteur=acteur)
    return version


def version_lisible(acteur: Acteur | None, version_uuid, *, request=None) -> VersionPPA | None:
    """La version `version_uuid` (avec son projet et la personne), si l'acteur peut lire le projet
    personnalisé de la personne ; None sinon. La lecture est journalisée."""
    return _version_si_lisible(acteur, version_uuid, request)


def projets_lisibles(acteur: Acteur | None, usager: Usager, *, request=None) -> list[ProjetPersonnalise]:
    """Les projets personnalisés de `usager` (toutes structures), chacun avec ses versions du plus
    récent au plus ancien (`versions_lues`) ; deux requêtes plus l'habilitation. AccesRefuse sans
    `ppa` en lecture. La lecture est journalisée."""
    if not _peut_lire(acteur, usager.pk):
        raise AccesRefuse("Vous n'avez pas accès au projet personnalisé de cette personne.")
    projets = list(
        ProjetPersonnalise.objects.filter(usager=usager)
        .select_related("structure", "referent__professionnel")
        .prefetch_related(
            Prefetch("versions", queryset=VersionPPA.objects.order_by("-numero"), to_attr="versions_lues")
        )
        .order_by("structure__raison_sociale", "type", "id")
    )
    noter_lecture(request, usager=usager, action=LECTURE_PROJETS, acteur=acteur)
    return projets


# L'action entière, et de son intervenant ce qui fait son nom (`Membre.nom_affiche`, `str()`) : des
# lignes plus courtes à lire et à construire que les fiches entières du membre et de sa personne.
CHAMPS_ACTION = (
    *(champ.name for champ in Action._meta.concrete_fields),
    *(f"intervenant__{champ}" for champ in ("uuid", "type", "role", "prenoms", "nom")),
    "intervenant__professionnel__prenom_exercice",
    "intervenant__professionnel__nom_exercice",
    "intervenant__structure__raison_sociale",
    "intervenant__proche__prenoms",
    "intervenant__proche__nom",
)


@dataclass(frozen=True)
class VersionComplete:
    """Une version et tout son contenu, chargés une fois : besoins, objectifs (chacun avec
    `besoins_vises`, les besoins de la version qu'il vise), actions (chacune avec son objectif et
    son intervenant : identifiant public et nom). Ce que lisent la page, les exports et le
    différentiel, sans autre requête."""

    version: VersionPPA
    besoins: list[Besoin]
    objectifs: list[Objectif]
    actions: list[Action]


def version_complete(acteur: Acteur | None, version_uuid, *, request=None) -> VersionComplete | None:
    """`version_lisible` avec tout son contenu, en un nombre constant de requêtes quelle que soit
    sa taille : version, habilitation (mémorisée), besoins, objectifs (avec les identifiants de leurs
    besoins), actions (avec leur intervenant), plus l'écriture de la lecture au journal (deux
    requêtes, groupées avec les autres lectures dans une requête HTTP) ; None sans droit de lecture."""
    version = _version_si_lisible(acteur, version_uuid, request)
    if version is None:
        return None
    # Le contenu seulement une fois le droit vérifié.
    prefetch_related_objects(
        [version],
        Prefetch("besoins", queryset=Besoin.objects.order_by("ordre", "id"), to_attr="besoins_lus"),
        Prefetch(
            "objectifs",
            # Les besoins visés par identifiant, dans la même requête ; rattachés ci-dessous.
            queryset=Objectif.objects.order_by("ordre", "id").annotate(
                ids_besoins=ArrayAgg("besoins__id", filter=Q(besoins__isnull=False), default=Value([]))
            ),
            to_attr="objectifs_lus",
        ),
        Prefetch(
            "actions",
            queryset=Action.objects.order_by("ordre", "id")
            .select_related("intervenant__professionnel", "intervenant__structure", "intervenant__proche")
            .only(*CHAMPS_ACTION),
            to_attr="actions_lues",
        ),
    )
    besoins = {b.pk: b for b in version.besoins_lus}
    for objectif in version.objectifs_lus:
        objectif.besoins_vises = sorted(
            (besoins[i] for i in objectif.ids_besoins), key=lambda b: (b.ordre, b.pk)
        )
    objectifs = {o.pk: o for o in version.objectifs_lus}
    for action in version.actions_lues:  # l'objectif déjà chargé : pas de requête par action
        action.objectif = objectifs[action.objectif_id]
    return VersionComplete(version, version.besoins_lus, version.objectifs_lus, version.actions_lues)


def differentiel_lisible(
    acteur: Acteur | None, avant_uuid, apres_uuid, *, request=None
) -> Differentiel | None:
    """Le différentiel (`ppa.differentiel.comparer`) entre deux versions que l'acteur peut lire,
    None si l'une ne l'est pas ; ValidationError si elles sont de deux projets différents."""
    avant = version_complete(acteur, avant_uuid, request=request)
    apres = version_complete(acteur, apres_uuid, request=request) if avant is not None else None
    return None if apres is None else comparer(avant, apres)
