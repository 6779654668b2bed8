"""Dépôt au DMP de la version validée du projet personnalisé (DE1 PPA, flux A ; ADR 0031).

À la validation d'une version (`ppa.services._valider`, même transaction), un message sortant
vers le DMP : le PDF complet de cette version (`ppa.exports.pdf_complet`), rebâti par l'adaptateur
à l'envoi depuis la version, immuable (la base le garantit). Il remplace le document de la version
validée précédente déjà parti ou en partance : la charge porte l'identifiant de ce document et le
message précédent, ce qu'il faut pour un remplacement ITI-65 (`relatesTo` « replaces ») ou DMP
TD2.1 ; le nouveau message ne part qu'après lui (`precedent`).

Clé d'idempotence `ppa.depot_dmp:<uuid de la version>` : une version ne se valide qu'une fois,
donc une ligne par version validée. Sans identité INS qualifiée, la ligne est « refusée » avec la
raison (`coordination.echanges.services`) : rien ne part, la validation n'en est pas empêchée.

À l'envoi, `construire` rebâtit le PDF de la version (empreinte vérifiée) ; le type de document
et le sort d'un remplacement dont le dépôt remplacé a échoué sont fixés par l'ADR 0034."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.dateparse import parse_datetime

from coordination.comptes.acteur import acteur_systeme
from coordination.echanges import services as echanges
from coordination.echanges.contenus import Contenu, Document
from coordination.echanges.erreurs import Rejet
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


# --- À l'envoi : le document rebâti (ADR 0031, 0034) ---------------------------------------------


class DepotEnAttente(RuntimeError):
    """Le dépôt remplacé n'est pas encore parti : on retente plus tard (il part avant celui-ci)."""


def _remplace(message: MessageSortant) -> str:
    """L'identifiant du document remplacé, si son dépôt est au DMP ; "" si ce dépôt n'a rien mis
    au DMP (refusé, ou en échec définitif) : ce dépôt-ci part alors en premier dépôt (ADR 0034)."""
    remplace = message.charge.get("remplace")
    if not remplace:
        return ""
    precedent = MessageSortant.objects.filter(uuid=remplace["message"]).only("statut").first()
    if precedent is None or precedent.statut in (StatutMessage.REFUSE, StatutMessage.ECHEC_DEFINITIF):
        return ""
    if precedent.statut == StatutMessage.A_ENVOYER:
        raise DepotEnAttente("Le dépôt de la version remplacée n'est pas encore parti : ce dépôt attend.")
    return remplace["identifiant"]


def _depasse(message: MessageSortant) -> bool:
    """Un dépôt plus récent du même projet, qui remplace celui-ci, est déjà parti."""
    return MessageSortant.objects.filter(
        nature=NATURE, statut=StatutMessage.ENVOYE, charge__remplace__message=str(message.uuid)
    ).exists()


def construire(message: MessageSortant) -> Contenu:
    """Le PDF complet de la version validée désignée par la charge, relu par le sélecteur habilité
    (lecture journalisée au nom de l'envoi) ; l'empreinte de la version doit être celle de la charge."""
    from ppa import exports, selectors
    from ppa.fhir import ContenuCharge

    if _depasse(message):
        raise Rejet(
            "Dépôt dépassé : une version plus récente du projet a déjà été déposée au DMP à sa place."
        )
    document = message.charge["document"]
    acteur = acteur_systeme("echanges.depot_dmp")
    complete = selectors.version_complete(acteur, document["version"])
    if complete is None:
        raise LookupError(f"Version {document['version']} introuvable : rien à déposer.")
    version = complete.version
    if version.empreinte != document["empreinte"]:
        raise Rejet("Dépôt impossible : l'empreinte de la version a changé depuis sa validation.")
    accords = list(version.accords.order_by("donne_le", "id"))
    octets = exports.pdf_complet(ContenuCharge.depuis(complete, accords), edite_par="Portail de coordination")
    pdf = Document(
        titre=document["titre"],
        nom_fichier=f"projet-complet-v{version.numero}.pdf",
        type_mime=document["format"],
        octets=octets,
        identifiant=document["identifiant"],
        date=parse_datetime(document["date"]),
        code_type=tuple(settings.DMP_TYPE_DOCUMENT_PPA),
        remplace=_remplace(message),
    )
    return Contenu(
        sujet=document["titre"], texte=f"Projet personnalisé validé : {document['titre']}.", documents=(pdf,)
    )
