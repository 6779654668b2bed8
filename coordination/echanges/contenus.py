"""Ce que l'envoi d'un message transporte, rebâti au moment de l'envoi depuis les références de sa
`charge` (ADR 0031) : le constructeur de sa nature (`natures.py`) rend un `Contenu`, l'adaptateur
de sa destination (`adaptateurs.py`) le met en forme (MIME + IHE_XDM.ZIP, lot ITI-65, Appointment,
courriel, SMS, CommunicationRequest) et le remet au pair."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Document:
    """Un document joint (PDF du PPA, fiche MDPH…), avec ce qu'en disent les métadonnées XDS/XDM."""

    titre: str
    nom_fichier: str
    type_mime: str
    octets: bytes
    identifiant: str  # OID unique du document (uniqueId XDS, masterIdentifier), ex. « 2.25.… »
    date: datetime
    # (système, code, libellé) : type de document (JDV_J07 / JDV_J66) ; None si aucun code n'est fixé.
    code_type: tuple[str, str, str] | None = None
    remplace: str = ""  # identifiant du document qu'il remplace (relatesTo « replaces », TD2.1)


@dataclass(frozen=True)
class Contenu:
    """Le message rebâti. `texte` est lu par une personne ; il ne porte de donnée de santé que si
    le canal est sécurisé (MSSanté, DMP, MES) : les courriels et SMS n'ont qu'une phrase neutre et
    un lien (ticket 8, point 6)."""

    sujet: str
    texte: str
    documents: tuple[Document, ...] = ()
    lien: str = ""  # adresse absolue d'une page du portail
    # Données propres à la destination (ressource FHIR déjà construite, numéro de téléphone…).
    donnees: dict[str, Any] = field(default_factory=dict)
