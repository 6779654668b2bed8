"""Différentiel entre deux versions d'un même projet personnalisé (typiquement la version validée
et son avenant) : besoins, objectifs et actions ajoutés, retirés ou modifiés, et pour un élément
modifié, chaque champ changé (avant → après) ; plus les changements des paroles de la personne
(attentes, projet de vie) et de la période. ADR 0028, section « Différentiel ».

Les éléments sont appariés par leur `origine`, recopiée d'une version à ses avenants : un objectif
dont le titre change reste « le même objectif modifié », pas un retrait suivi d'un ajout.
L'ordre d'affichage n'est pas un changement de contenu.

Fonction pure : elle lit des `VersionComplete` déjà chargées (`ppa.selectors.version_complete`,
droits vérifiés et lecture journalisée) et ne fait aucune requête."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    import uuid

    from ppa.models import Action, Besoin, Objectif
    from ppa.selectors import VersionComplete


@dataclass(frozen=True)
class Changement:
    """Un champ changé : son nom, sa valeur avant et après (telles qu'on les affiche)."""

    champ: str
    avant: object
    apres: object


@dataclass(frozen=True)
class Modification:
    """Un élément présent dans les deux versions (même origine) dont des champs ont changé."""

    origine: uuid.UUID
    avant: object
    apres: object
    changements: tuple[Changement, ...]

    @property
    def champs(self) -> list[str]:
        return [c.champ for c in self.changements]


@dataclass(frozen=True)
class DifferentielSection:
    """Besoins, objectifs ou actions : ajoutés (de la version après), retirés (de la version avant),
    modifiés ; chacun dans l'ordre de sa version."""

    ajoutes: list = field(default_factory=list)
    retires: list = field(default_factory=list)
    modifies: list[Modification] = field(default_factory=list)

    @property
    def vide(self) -> bool:
        return not (self.ajoutes or self.retires or self.modifies)


@dataclass(frozen=True)
class Differentiel:
    avant: VersionComplete
    apres: VersionComplete
    version: tuple[Changement, ...]  # attentes, projet de vie, début et fin de la période
    besoins: DifferentielSection
    objectifs: DifferentielSection
    actions: DifferentielSection

    @property
    def vide(self) -> bool:
        return not self.version and self.besoins.vide and self.objectifs.vide and self.actions.vide


# Chaque extraction rend {champ: (valeur comparée, valeur affichée)} : les liens (besoins visés,
# objectif d'une action, intervenant) se comparent par identité stable et s'affichent par leur nom.


def _champs_besoin(besoin: Besoin) -> dict:
    return {
        "code_serafin": (besoin.code_serafin, besoin.code_serafin),
        "libelle": (besoin.libelle, besoin.libelle),
        "precision": (besoin.precision, besoin.precision),
    }


def _champs_objectif(objectif: Objectif) -> dict:
    besoins = objectif.besoins_vises
    return {
        "titre": (objectif.titre, objectif.titre),
        "resultat_attendu": (objectif.resultat_attendu, objectif.resultat_attendu),
        "strategie": (objectif.strategie, objectif.strategie),
        "avis_usager": (objectif.avis_usager, objectif.get_avis_usager_display()),
        "commentaire_usager": (objectif.commentaire_usager, objectif.commentaire_usager),
        "date_cible": (objectif.date_cible, objectif.date_cible),
        "besoins": (frozenset(b.origine for b in besoins), [b.libelle for b in besoins]),
    }


def _intervenant(action: Action) -> tuple:
    if action.intervenant_id is None:
        return (action.intervenant_libelle, action.intervenant_libelle)
    return (action.intervenant.uuid, action.intervenant.nom_affiche)


def _champs_action(action: Action) -> dict:
    return {
        "objectif": (action.objectif.origine, action.objectif.titre),
        "intervenant": _intervenant(action),
        "quoi": (action.quoi, action.quoi),
        "ou": (action.ou, action.ou),
        "frequence": (action.frequence, action.frequence),
        "duree_minutes": (action.duree_minutes, action.duree_minutes),
        "code_prestation": (action.code_prestation, action.code_prestation),
    }


def _changements(avant: dict, apres: dict) -> tuple[Changement, ...]:
    return tuple(
        Changement(champ, avant[champ][1], apres[champ][1])
        for champ in avant
        if avant[champ][0] != apres[champ][0]
    )


def _section(avant: list, apres: list, champs) -> DifferentielSection:
    par_origine = {element.origine: element for element in avant}
    gardees = {element.origine for element in apres}
    section = DifferentielSection(retires=[e for e in avant if e.origine not in gardees])
    for element in apres:
        ancien = par_origine.get(element.origine)
        if ancien is None:
            section.ajoutes.append(element)
            continue
        changements = _changements(champs(ancien), champs(element))
        if changements:
            section.modifies.append(Modification(element.origine, ancien, element, changements))
    return section


def _champs_version(complete: VersionComplete) -> dict:
    version = complete.version
    return {
        "attentes": (version.attentes, version.attentes),
        "projet_de_vie": (version.projet_de_vie, version.projet_de_vie),
        "debut": (version.debut, version.debut),
        "fin": (version.fin, version.fin),
    }


def comparer(avant: VersionComplete, apres: VersionComplete) -> Differentiel:
    """Ce qui change de `avant` à `apres`, deux versions du même projet (ValidationError sinon)."""
    if avant.version.projet_id != apres.version.projet_id:
        raise ValidationError(
            "Ces deux versions appartiennent à des projets personnalisés différents : "
            "on ne compare que deux versions d'un même projet."
        )
    return Differentiel(
        avant=avant,
        apres=apres,
        version=_changements(_champs_version(avant), _champs_version(apres)),
        besoins=_section(avant.besoins, apres.besoins, _champs_besoin),
        objectifs=_section(avant.objectifs, apres.objectifs, _champs_objectif),
        actions=_section(avant.actions, apres.actions, _champs_action),
    )
