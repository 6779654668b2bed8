"""Lectures des pages de suivi du projet personnalisé (versions, différentiel, exports, projets
précédents joints, revues), toujours à partir de l'acteur : `ppa` en lecture par
cercle/habilitations.py (AccesRefuse sinon, 403 : la personne est déjà connue de l'acteur), objet
d'un autre dossier → None (404, ADR 0008), chaque lecture notée au journal (`noter_lecture`). Les
versions elles-mêmes se lisent par `ppa.selectors` (version complète, différentiel)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch

from cercle import habilitations
from cercle.models import Domaine
from cercle.services import AccesRefuse
from coordination.comptes.acteur import TypeActeur
from coordination.echanges.models import Destination, MessageSortant
from coordination.journal.lectures import noter_lecture
from ppa import revues, selectors
from ppa.fhir import ContenuCharge
from ppa.models import AccordPPA, Besoin, DocumentPrecedent, Objectif, ProjetPersonnalise, VersionPPA

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur
    from coordination.personnes.models import Structure, Usager

REFUS_LIRE = "Vous n'avez pas accès au projet personnalisé de cette personne."
LECTURE_PROJET = "ppa.projet.lecture"
LECTURE_DOCUMENT = "ppa.document_precedent.lecture"
LECTURE_REVUES = "ppa.revues.lecture"
EXPORT = "ppa.export"


def exiger_lecture(acteur: Acteur | None, usager: Usager) -> None:
    """AccesRefuse sans `ppa` en lecture sur le dossier de `usager`."""
    if acteur is None or not habilitations.peut(acteur, usager, "lire", Domaine.PPA):
        raise AccesRefuse(REFUS_LIRE)


def projet_et_versions(
    acteur: Acteur | None, usager: Usager, projet_uuid, *, request=None, details: bool = True
) -> ProjetPersonnalise | None:
    """Le projet `projet_uuid` de `usager` et ses versions, de la plus récente à la plus ancienne
    (`versions_lues`, chacune avec `a_du_contenu`, `derive_de_numero` et `comparer_avec`) ; avec
    `details`, les accords de chaque version (`accords_lus`) et les projets précédents joints
    (`documents_lus`) et le dépôt au DMP de chaque version validée (`depot_dmp`, message de la boîte
    d'envoi ou None). Requêtes constantes (2, ou 5 avec les détails) ; None si le projet n'est pas
    celui de cette personne."""
    exiger_lecture(acteur, usager)
    versions = VersionPPA.objects.order_by("-numero").annotate(
        a_du_contenu=Exists(Besoin.objects.filter(version=OuterRef("pk")))
        | Exists(Objectif.objects.filter(version=OuterRef("pk")))
    )
    a_charger = []
    if details:
        versions = versions.prefetch_related(
            Prefetch("accords", queryset=AccordPPA.objects.order_by("donne_le", "id"), to_attr="accords_lus")
        )
        a_charger.append(
            Prefetch(
                "documents_precedents",
                queryset=DocumentPrecedent.objects.order_by("-cree_le", "-id"),
                to_attr="documents_lus",
            )
        )
    try:
        projet = (
            ProjetPersonnalise.objects.filter(uuid=projet_uuid, usager=usager)
            .select_related("structure", "usager")
            .prefetch_related(Prefetch("versions", queryset=versions, to_attr="versions_lues"), *a_charger)
            .first()
        )
    except ValidationError:  # UUID mal formé : comme un projet inconnu
        return None
    if projet is None:
        return None
    par_pk = {v.pk: v for v in projet.versions_lues}
    depots = _depots_dmp(projet.versions_lues) if details else {}
    for rang, version in enumerate(projet.versions_lues):
        version.depot_dmp = depots.get(version.uuid)
        version.projet = projet  # déjà chargé : pas de requête par version
        origine = par_pk.get(version.derive_de_id)
        version.derive_de_numero = origine.numero if origine else None
        # À comparer par défaut : celle dont elle dérive, sinon la précédente.
        precedente = projet.versions_lues[rang + 1] if rang + 1 < len(projet.versions_lues) else None
        version.comparer_avec = origine or precedente
    noter_lecture(request, usager=usager, objet=projet, action=LECTURE_PROJET, acteur=acteur)
    return projet


def _depots_dmp(versions) -> dict:
    """Le dépôt au DMP de chaque version validée (statut, date, raison d'un refus) : une requête,
    quel que soit le nombre de versions."""
    uuids = [v.uuid for v in versions]
    messages = MessageSortant.objects.filter(
        objet_type=VersionPPA._meta.label_lower, objet_uuid__in=uuids, destination=Destination.DMP
    ).order_by("cree_le", "id")
    return {message.objet_uuid: message for message in messages}


def _version_du_dossier(usager: Usager, version_uuid) -> bool:
    try:
        return VersionPPA.objects.filter(uuid=version_uuid, projet__usager=usager).exists()
    except ValidationError:
        return False


def version_du_dossier(acteur: Acteur | None, usager: Usager, version_uuid, *, request=None):
    """La version `version_uuid` d'un projet de `usager` (avec son projet), lecture journalisée ;
    AccesRefuse sans lecture, None si elle n'est pas de ce dossier."""
    exiger_lecture(acteur, usager)
    if not _version_du_dossier(usager, version_uuid):
        return None
    return selectors.version_lisible(acteur, version_uuid, request=request)


def contenu_a_exporter(
    acteur: Acteur | None, usager: Usager, version_uuid, forme: str, *, request=None
) -> ContenuCharge | None:
    """La version complète et ses accords, pour un export (`forme` : facile, complet, tddui), en
    requêtes constantes ; l'export est journalisé (`ppa.export`, avec sa forme et l'empreinte de la
    version). AccesRefuse sans lecture, None si la version n'est pas de ce dossier."""
    exiger_lecture(acteur, usager)
    if not _version_du_dossier(usager, version_uuid):
        return None
    complete = selectors.version_complete(acteur, version_uuid, request=request)
    if complete is None:
        return None
    version = complete.version
    charge = ContenuCharge.depuis(complete, list(version.accords.order_by("donne_le", "id")))
    noter_lecture(
        request, usager=usager, objet=version, action=EXPORT, acteur=acteur,
        details={"forme": forme, "numero": version.numero, "empreinte": version.empreinte},
    )  # fmt: skip
    return charge


def document_lisible(
    acteur: Acteur | None, usager: Usager, projet_uuid, document_uuid, *, request=None
) -> DocumentPrecedent | None:
    """Le projet précédent joint `document_uuid` du projet `projet_uuid` de `usager`, lecture
    journalisée ; AccesRefuse sans lecture, None s'il n'est pas de ce projet."""
    exiger_lecture(acteur, usager)
    try:
        document = (
            DocumentPrecedent.objects.filter(
                uuid=document_uuid, projet__uuid=projet_uuid, projet__usager=usager
            )
            .select_related("projet")
            .first()
        )
    except ValidationError:
        return None
    if document is None:
        return None
    noter_lecture(
        request, usager=usager, objet=document, action=LECTURE_DOCUMENT, acteur=acteur,
        details={"projet": str(document.projet.uuid), "nom": document.nom, "type": document.type_mime},
    )  # fmt: skip
    return document


def structure_de(acteur: Acteur | None) -> Structure:
    """La structure où exerce le professionnel ; AccesRefuse pour tout autre acteur."""
    exercice = acteur.exercice if acteur is not None and acteur.type == TypeActeur.PROFESSIONNEL else None
    if exercice is None or exercice.structure_id is None:
        raise AccesRefuse(revues.REFUS_REVUES)
    return exercice.structure


def revues_de_ma_structure(acteur: Acteur | None, *, request=None, aujourd_hui=None):
    """(structure, revues à faire) pour le professionnel qui y exerce (`ppa.revues.revues_a_faire` :
    une requête) ; chaque projet affiché est noté au journal de sa personne (`ppa.revues.lecture`)."""
    structure = structure_de(acteur)
    a_faire = revues.revues_a_faire(acteur, structure, aujourd_hui)
    for revue in a_faire:
        noter_lecture(
            request, usager=revue.projet.usager, objet=revue.projet, action=LECTURE_REVUES, acteur=acteur,
            details={"echeance": revue.echeance.isoformat()},
        )  # fmt: skip
    return structure, a_faire
