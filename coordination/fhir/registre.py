"""Le registre des ressources FHIR servies par le portail.

Une application déclare une ressource en sous-classant `Ressource` (ou `RessourceModele` pour une
table Django, `RessourceEnVersions` pour une ressource gardée telle quelle dans le magasin de
versions) et en la décorant de `@enregistrer`, dans un module importé par son `AppConfig.ready()`.

    @enregistrer
    class RessourceOrganization(RessourceModele):
        type = "Organization"
        profil = "https://…/cds-organization"
        interactions = frozenset({Interaction.READ, Interaction.SEARCH_TYPE})
        parametres = (ParametreRecherche("name", TypeParametre.STRING, "Raison sociale"), …)

Les vues (views.py), la CapabilityStatement (capacites.py), l'analyse des paramètres de recherche
(recherche.py) et les transactions (transactions.py) ne connaissent que ce registre.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from coordination.fhir import erreurs

if TYPE_CHECKING:
    import uuid

    from coordination.fhir.contexte import Contexte
    from coordination.fhir.recherche import Recherche


@dataclass
class Creation:
    """Une création (POST) d'un Bundle transaction : l'entrée (`Bundle.entry[3]`), la ressource aux
    références déjà réécrites, l'id attribué par le serveur."""

    chemin: str
    ressource: dict
    id_logique: uuid.UUID


class Interaction(enum.StrEnum):
    READ = "read"
    VREAD = "vread"
    HISTORY_INSTANCE = "history-instance"
    HISTORY_TYPE = "history-type"
    SEARCH_TYPE = "search-type"
    CREATE = "create"
    UPDATE = "update"
    # PUT [type]?critères : pas un code d'interaction FHIR ; déclarée dans la CapabilityStatement par
    # `conditionalUpdate: true` (capacites.py).
    CONDITIONAL_UPDATE = "conditional-update"


# Interactions qui modifient des données (portée « .write » exigée).
ECRITURES = frozenset({Interaction.CREATE, Interaction.UPDATE, Interaction.CONDITIONAL_UPDATE})


class TypeParametre(enum.StrEnum):
    NUMBER = "number"
    DATE = "date"
    STRING = "string"
    TOKEN = "token"  # noqa: S105 (type de paramètre FHIR, pas un secret)
    REFERENCE = "reference"
    URI = "uri"


@dataclass(frozen=True)
class ParametreRecherche:
    """Un paramètre de recherche déclaré. `cibles` : types visés par un paramètre référence (pour
    les paramètres chaînés `organization.name=…`). `definition` : canonique du SearchParameter
    quand ce n'est pas un paramètre de base. `filtre` : sa traduction en requête, pour les
    gestionnaires adossés à une table (orm.RessourceModele, filtres.py)."""

    nom: str
    type: TypeParametre
    documentation: str = ""
    cibles: tuple[str, ...] = ()
    definition: str = ""
    filtre: object | None = field(default=None, compare=False, repr=False)


@dataclass
class Representation:
    """Une ressource telle que servie : son JSON (avec `id` et `meta`), sa version (None pour une
    ressource non versionnée : pas d'ETag) et sa date de dernière modification."""

    ressource: dict
    derniere_maj: datetime
    version: str | None = None
    supprimee: bool = False
    # Création qui désigne une ressource déjà connue (Patient reconnu par son INS, structure par
    # son FINESS…) : 200 au lieu de 201, et les références du Bundle suivent l'id existant.
    existante: bool = False

    @property
    def type(self) -> str:
        return self.ressource["resourceType"]

    @property
    def id(self) -> str:
        return self.ressource["id"]

    @property
    def etag(self) -> str | None:
        return f'W/"{self.version}"' if self.version is not None else None


@dataclass
class Page:
    """Résultat d'une recherche : les correspondances de la page, les ressources incluses,
    le total (None si non demandé) et les curseurs des pages voisines (opaques)."""

    correspondances: list[Representation]
    incluses: list[Representation] = field(default_factory=list)
    total: int | None = None
    curseur_suivant: str | None = None
    curseur_precedent: str | None = None


class Ressource:
    """Gestionnaire d'un type de ressource. Chaque méthode reçoit le `Contexte` de la requête
    (acteur, portées, adresse de base) ; elle lève `ErreurFHIR` pour toute erreur.

    Les méthodes d'interaction non déclarées dans `interactions` ne sont jamais appelées : la vue
    répond 405 avant. Une sous-classe implémente celles qu'elle déclare."""

    type: ClassVar[str]
    profil: ClassVar[str] = ""
    documentation: ClassVar[str] = ""
    interactions: ClassVar[frozenset[Interaction]] = frozenset()
    parametres: ClassVar[tuple[ParametreRecherche, ...]] = ()
    # Valeurs de `_sort` acceptées (sans le « - » du tri décroissant).
    tris: ClassVar[tuple[str, ...]] = ()
    # Valeurs de `_include` acceptées, ex. "PractitionerRole:organization".
    inclusions: ClassVar[tuple[str, ...]] = ()
    # Méthodes acceptées dans un Bundle transaction/batch (invariant req-met des volets CI-SIS).
    methodes_transaction: ClassVar[frozenset[str]] = frozenset({"POST", "PUT"})
    # Création acceptée seulement comme entrée d'un Bundle transaction (ressource citée par une
    # autre : le Patient, l'Organization d'une CareTeam) même si `create` n'est pas déclarée.
    creation_en_transaction: ClassVar[bool] = False
    # Ordre d'exécution des créations d'un Bundle : les ressources citées d'abord (rang plus petit).
    rang_transaction: ClassVar[int] = 0
    versionnee: ClassVar[bool] = False

    # -- déclarations ------------------------------------------------------------------------

    @classmethod
    def parametre(cls, nom: str) -> ParametreRecherche | None:
        for parametre in cls.parametres:
            if parametre.nom == nom:
                return parametre
        return None

    def prend_en_charge(self, interaction: Interaction) -> bool:
        return interaction in self.interactions

    # -- interactions ------------------------------------------------------------------------

    def lire(self, contexte: Contexte, id_logique: str) -> Representation:
        raise erreurs.interaction_non_prise_en_charge(self.type, Interaction.READ)

    def lire_version(self, contexte: Contexte, id_logique: str, version: str) -> Representation:
        raise erreurs.interaction_non_prise_en_charge(self.type, Interaction.VREAD)

    def historique(
        self, contexte: Contexte, id_logique: str | None, *, nombre: int, depuis: datetime | None
    ) -> list[Representation]:
        """Versions de l'instance (ou du type si `id_logique` est None), plus récentes d'abord."""
        raise erreurs.interaction_non_prise_en_charge(self.type, Interaction.HISTORY_INSTANCE)

    def rechercher(self, contexte: Contexte, recherche: Recherche) -> Page:
        raise erreurs.interaction_non_prise_en_charge(self.type, Interaction.SEARCH_TYPE)

    def creer(self, contexte: Contexte, ressource: dict, *, id_logique: uuid.UUID) -> Representation:
        """Crée la ressource (déjà validée par fhir.resources) sous l'id attribué par le serveur."""
        raise erreurs.interaction_non_prise_en_charge(self.type, Interaction.CREATE)

    def creer_plusieurs(self, contexte: Contexte, creations: list[Creation]) -> list[Representation]:
        """Les créations de ce type d'un même Bundle transaction, dans l'ordre : une représentation
        par création. Une erreur est levée située sur son entrée (`creation.chemin`). Par défaut,
        `creer` une à une ; un gestionnaire la redéfinit pour résoudre et écrire en quelques
        requêtes (DocumentReference du cahier, Practitioner, PractitionerRole)."""
        representations = []
        for creation in creations:
            try:
                representations.append(
                    self.creer(contexte, creation.ressource, id_logique=creation.id_logique)
                )
            except erreurs.ErreurFHIR as erreur:
                raise erreur.avec_prefixe(creation.chemin) from None
        return representations

    def modifier(
        self, contexte: Contexte, id_logique: str, ressource: dict, *, version_attendue: str | None
    ) -> tuple[Representation, bool]:
        """Remplace la ressource ; renvoie (représentation, créée ?). `version_attendue` vient de
        If-Match : si elle diffère de la version courante, lever `erreurs.version_perimee`."""
        raise erreurs.interaction_non_prise_en_charge(self.type, Interaction.UPDATE)

    def modifier_conditionnel(
        self, contexte: Contexte, recherche: Recherche, ressource: dict, *, version_attendue: str | None
    ) -> tuple[Representation, bool]:
        """PUT [type]?critères (au moins un critère, vérifié par la vue) : aucune ressource ne
        correspond → création ; une seule → remplacement ; plusieurs → `erreurs.plusieurs_correspondances`
        (412). Renvoie (représentation, créée ?)."""
        raise erreurs.interaction_non_prise_en_charge(self.type, Interaction.CONDITIONAL_UPDATE)


class Registre:
    def __init__(self) -> None:
        self._ressources: dict[str, Ressource] = {}

    def enregistrer(self, classe: type[Ressource]) -> type[Ressource]:
        if classe.type in self._ressources:
            raise ValueError(f"FHIR : le type {classe.type} est déjà enregistré.")
        self._ressources[classe.type] = classe()
        return classe

    def retirer(self, type_ressource: str) -> None:
        self._ressources.pop(type_ressource, None)

    def obtenir(self, type_ressource: str) -> Ressource:
        try:
            return self._ressources[type_ressource]
        except KeyError:
            raise erreurs.type_inconnu(type_ressource) from None

    def existe(self, type_ressource: str) -> bool:
        return type_ressource in self._ressources

    def ressources(self) -> list[Ressource]:
        return [self._ressources[t] for t in sorted(self._ressources)]

    @contextmanager
    def temporairement(self, classe: type[Ressource]) -> Iterator[Ressource]:
        """Enregistre une ressource le temps d'un bloc (tests)."""
        self.enregistrer(classe)
        try:
            yield self._ressources[classe.type]
        finally:
            self.retirer(classe.type)


registre = Registre()
enregistrer = registre.enregistrer
