"""Écriture dans le journal. Tout service qui lit ou écrit des données d'usager passe par ici."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from coordination.journal.models import EMPREINTE_ORIGINE, Evenement, Resultat

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur

# Verrou consultatif qui sérialise l'ajout en fin de chaîne (voir docs/decisions/0005).
VERROU_CHAINE = 0x4A4F55524E414C  # « JOURNAL »


def _objet(objet) -> tuple[str, uuid.UUID | None]:
    if objet is None:
        return "", None
    return objet._meta.label_lower, getattr(objet, "uuid", None)


def _usager_uuid(usager) -> uuid.UUID | None:
    if usager is None:
        return None
    return usager if isinstance(usager, uuid.UUID) else usager.uuid


def _derniere_empreinte() -> str:
    derniere = Evenement.objects.order_by("-id").values_list("empreinte", flat=True).first()
    return derniere or EMPREINTE_ORIGINE


@transaction.atomic
def journaliser_plusieurs(evenements: list[Evenement]) -> list[Evenement]:
    """Ajoute des événements préparés en fin de chaîne, dans l'ordre, en une transaction."""
    if not evenements:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [VERROU_CHAINE])
    precedente = _derniere_empreinte()
    for evenement in evenements:
        evenement.empreinte_precedente = precedente
        evenement.empreinte = evenement.calculer_empreinte(precedente)
        precedente = evenement.empreinte
    return Evenement.objects.bulk_create(evenements)


def preparer_evenement(
    *,
    acteur: Acteur | None,
    action: str,
    objet=None,
    objet_type: str = "",
    objet_uuid: uuid.UUID | None = None,
    usager=None,
    au_nom_de: str = "",
    resultat: str = Resultat.SUCCES,
    details: dict | None = None,
) -> Evenement:
    """Construit un événement (non enregistré). `usager` : un Usager ou son UUID."""
    type_objet, uuid_objet = _objet(objet)
    champs_acteur = (
        acteur.pour_journal()
        if acteur is not None
        else {"compte_id": None, "acteur_type": "anonyme", "acteur_nom": "anonyme", "acteur_qualite": ""}
    )
    compte = acteur.compte if acteur is not None else None
    champs_acteur.pop("compte_id", None)
    return Evenement(
        horodatage=timezone.now(),
        compte_uuid=compte.uuid if compte is not None else None,
        au_nom_de=au_nom_de,
        action=action,
        objet_type=objet_type or type_objet,
        objet_uuid=objet_uuid or uuid_objet,
        usager_uuid=_usager_uuid(usager),
        resultat=resultat,
        details=details or {},
        **champs_acteur,
    )


def journaliser(**kwargs) -> Evenement:
    """Ajoute un événement au journal (mêmes arguments que `preparer_evenement`)."""
    return journaliser_plusieurs([preparer_evenement(**kwargs)])[0]
