"""Le contexte d'une requête FHIR : qui agit, avec quelles portées, depuis quelle adresse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coordination.fhir import erreurs
from coordination.fhir.portees import portee_requise, portees_couvrent

if TYPE_CHECKING:
    from django.http import HttpRequest

    from coordination.comptes.acteur import Acteur


@dataclass
class Contexte:
    """`portees` : portées OAuth2 du jeton, ou celles d'une session (lecture seule).
    `base` : adresse de base FHIR (« https://portail…/fhir »), sans barre finale."""

    acteur: Acteur
    portees: frozenset[str]
    base: str
    requete: HttpRequest | None = None
    prefer: dict[str, str] = field(default_factory=dict)
    # Ce qu'une entrée d'un Bundle a déjà résolu, pour les suivantes (ex. les situations d'exercice
    # des PractitionerRole, relues par les DocumentReference qui les citent) : durée de la requête.
    resolues: dict = field(default_factory=dict)

    def exiger(self, type_ressource: str, *, ecriture: bool) -> None:
        """403 si les portées ne couvrent pas la lecture (ou l'écriture) de ce type."""
        if not portees_couvrent(self.portees, type_ressource, ecriture=ecriture):
            requise = portee_requise(type_ressource, ecriture=ecriture)
            raise erreurs.interdit(
                f"Portée insuffisante : « {requise} » (ou « system/*.{requise.rsplit('.', 1)[1]} ») "
                f"est nécessaire pour {'modifier' if ecriture else 'lire'} {type_ressource}.",
                portee_manquante=requise,
            )

    def url(self, chemin: str) -> str:
        return f"{self.base}/{chemin}"
