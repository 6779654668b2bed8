"""Lectures du journal.

« Qui a consulté ou modifié mon dossier » : ce que l'usager (ou la personne qui gère son cercle)
voit de son propre journal. Le contrôle que l'acteur a le droit de voir ce journal (l'usager
lui-même, son représentant légal, le gestionnaire du cercle) relève de cercle/habilitations.py et
se fait dans la vue avant l'appel.
"""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet

from coordination.journal.models import Evenement
from coordination.journal.services import _usager_uuid

LIMITE_MAX = 1000
NATURE_LECTURE = "lecture"
NATURE_MODIFICATION = "modification"
# Les actions de consultation portent « lecture » dans leur code (lecture, cercle.lecture,
# journal.lecture_acces…) ; journal.consultation aussi (administration).
EST_UNE_LECTURE = Q(action__contains="lecture") | Q(action__endswith="consultation")


def acces_a_mon_dossier(
    *,
    usager,
    depuis: datetime.datetime | None = None,
    limite: int = 100,
    inclure_les_miens: bool = False,
    types_acteur: list[str] | None = None,
    nature: str = "",
) -> QuerySet[Evenement]:
    """Les `limite` derniers accès (lectures et écritures, réussis ou refusés) au dossier de
    `usager` (Usager ou UUID), du plus récent au plus ancien, depuis `depuis` si donné.

    Par défaut, les actions de l'usager lui-même (connecté en tant qu'usager) sont exclues :
    il demande « qui d'autre que moi ? ». Les actions d'un proche, d'un représentant légal ou
    d'une tâche du système restent affichées, elles aussi agissent sur son dossier.
    Sert l'index `journal_usager_idx` (usager_uuid, horodatage décroissant) : coût proportionnel
    à `limite`, pas à la taille du journal.

    Filtres facultatifs : `types_acteur` (professionnel, proche, systeme…) et `nature` (« lecture »
    pour les consultations, « modification » pour tout le reste)."""
    if not 1 <= limite <= LIMITE_MAX:
        raise ValueError(f"« limite » doit être comprise entre 1 et {LIMITE_MAX} (reçu : {limite}).")
    uuid_usager = _usager_uuid(usager)
    if uuid_usager is None:
        raise ValueError("« usager » est obligatoire : un usager ou son UUID.")
    evenements = Evenement.objects.filter(usager_uuid=uuid_usager)
    if depuis is not None:
        evenements = evenements.filter(horodatage__gte=depuis)
    if types_acteur:
        evenements = evenements.filter(acteur_type__in=types_acteur)
    if nature == NATURE_LECTURE:
        evenements = evenements.filter(EST_UNE_LECTURE)
    elif nature == NATURE_MODIFICATION:
        evenements = evenements.exclude(EST_UNE_LECTURE)
    if not inclure_les_miens:
        evenements = evenements.exclude(acteur_usager_uuid=uuid_usager)
    return evenements.order_by("-horodatage")[:limite]
