"""Lectures propres aux pages de l'atelier, sur une version ou des projets que l'acteur lit déjà
(obtenus par `ppa.selectors`, qui vérifient le droit et journalisent la lecture) : le fil des
commentaires par partie, les accords, les échéances de revue ; et les référents possibles d'une
structure. Une requête chacune."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q
from django.utils import timezone

from coordination.personnes.models import Exercice
from ppa import revues
from ppa.models import AccordPPA, CommentairePPA, PartieProjet, ProjetPersonnalise, VersionPPA


def commentaires_par_partie(version: VersionPPA) -> dict[str, list[CommentairePPA]]:
    """Le fil de chaque partie (toutes présentes, même vides), du plus ancien au plus récent."""
    fils: dict[str, list[CommentairePPA]] = defaultdict(list)
    for commentaire in CommentairePPA.objects.filter(version=version).order_by("cree_le", "id"):
        fils[commentaire.partie].append(commentaire)
    return {partie: fils[partie] for partie in PartieProjet.values}


def accords(version: VersionPPA) -> list[AccordPPA]:
    """Les accords donnés sur la version (toutes empreintes), du plus ancien au plus récent."""
    return list(version.accords.order_by("donne_le", "id"))


def echeances_de_revue(projets: list[ProjetPersonnalise]) -> dict[int, object]:
    """L'échéance de revue de chaque projet (None sans version validée), en une requête."""
    if not projets:
        return {}
    lignes = revues.avec_echeance(ProjetPersonnalise.objects.filter(pk__in=[p.pk for p in projets]))
    return dict(lignes.values_list("pk", "echeance_revue"))


def referents_possibles(structure_id: int) -> list[Exercice]:
    """Les professionnels qui exercent aujourd'hui dans la structure (référents possibles d'un de ses
    projets), par nom ; une requête. Pas une donnée d'usager : l'annuaire de la structure."""
    jour = timezone.localdate()
    return list(
        Exercice.objects.filter(structure_id=structure_id)
        .filter(Q(date_debut__isnull=True) | Q(date_debut__lte=jour))
        .filter(Q(date_fin__isnull=True) | Q(date_fin__gte=jour))
        .select_related("professionnel")
        .order_by("professionnel__nom_exercice", "professionnel__prenom_exercice", "id")
    )
