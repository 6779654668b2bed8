"""Dépôt au DMP de la version validée du projet personnalisé (DE1 PPA, flux A ; ADR 0031).

À la validation d'une version (`ppa.services._valider`, même transaction), un message sortant
vers le DMP : le PDF complet de cette version (`ppa.exports.pdf_complet`), rebâti par l'adaptateur
à l'envoi depuis la version, immuable (la base le garantit). Il remplace le document de la version
validée précédente déjà parti ou en partance : la charge porte l'identifiant de ce document et le
message précédent, ce qu'il faut pour un remplacement ITI-65 (`relatesTo` « replaces ») ou DMP
TD2.1 ; le nouveau message ne part qu'après lui (`precedent`).

Clé d'idempotence `ppa.depot_dmp:<uuid de la version>` : une version ne se valide qu'une fois,
donc une ligne par version validée. Sans identité INS qualifiée, la ligne est « refusée » avec la
raison (`coordination.echanges.services`) : rien ne part, la validation n'en est pas empêchée."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coordination.echanges import services as echanges
from coordination.echanges.models import Destination, MessageSortant, StatutMessage

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur
    from ppa.models import VersionPPA

NATURE = "ppa.depot_dmp"
DESTINATAIRE = "DMP de la personne"
TYPE_OBJET = "ppa.versionppa"


def identifiant_document(objet) -> str:
    """L'identifiant unique (XDS `uniqueId`, `masterIdentifier` de la DocumentReference) du
    document tiré d'un objet immuable : l'OID dérivé de son UUID (« 2.25. » + l'entier de l'UUID,
    UIT-T X.667), stable et sans registre à tenir."""
    return f"2.25.{objet.uuid.int}"


def cle(version: VersionPPA) -> str:
    return f"{NATURE}:{version.uuid}"


def depot_remplace(version: VersionPPA) -> MessageSortant | None:
    """Le dépôt que celui de `version` remplace : le plus récent des dépôts des autres versions du
    projet qui n'a pas été refusé (un dépôt refusé n'a rien mis au DMP)."""
    autres = version.projet.versions.exclude(pk=version.pk).values("uuid")
    return (
        MessageSortant.objects.filter(nature=NATURE, objet_type=TYPE_OBJET, objet_uuid__in=autres)
        .exclude(statut=StatutMessage.REFUSE)
        .order_by("-cree_le", "-id")
        .first()
    )


def charge(version: VersionPPA, remplace: MessageSortant | None) -> dict:
    """Ce que porte le message : des références (version, structure auteur et gardienne) et les
    métadonnées du document ; l'adaptateur relit la personne (INS qualifiée) et rebâtit le PDF."""
    projet = version.projet
    return {
        "document": {
            "objet": "ppa.version",
            "version": str(version.uuid),
            "numero": version.numero,
            "empreinte": version.empreinte,
            "forme": "complete",
            "format": "application/pdf",
            "identifiant": identifiant_document(version),
            "titre": f"{projet.get_type_display()} — version {version.numero}",
            "date": version.validee_le.isoformat(),
        },
        "structure": str(projet.structure.uuid),
        "remplace": None
        if remplace is None
        else {
            "message": str(remplace.uuid),
            "version": str(remplace.objet_uuid),
            "identifiant": remplace.charge["document"]["identifiant"],
        },
    }


def mettre_en_file(*, acteur: Acteur, version: VersionPPA) -> MessageSortant:
    """Range le dépôt au DMP de `version`, qui vient d'être validée (dans sa transaction)."""
    remplace = depot_remplace(version)
    return echanges.mettre_en_file(
        acteur=acteur,
        destination=Destination.DMP,
        destinataire=DESTINATAIRE,
        nature=NATURE,
        cle_idempotence=cle(version),
        charge=charge(version, remplace),
        usager=version.projet.usager,
        objet=version,
        precedent=remplace,
    )
