"""Recherches dans l'annuaire (données publiques) pour ajouter un membre au cercle : professionnels
(par nom ou RPPS, `personnes.selectors.rechercher_professionnels`), structures (par FINESS ou nom).
Nombre de résultats borné ; aucune donnée d'usager."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q
from django.utils import timezone

from coordination.personnes.identifiants import compacter
from coordination.personnes.models import Exercice, Proche, Structure, Usager
from coordination.personnes.selectors import rechercher_professionnels

LIMITE = 20


@dataclass
class Resultats:
    elements: list
    message: str = ""


def professionnels(texte: str) -> Resultats:
    """Professionnels avec leurs situations d'exercice en cours (deux requêtes)."""
    recherche = rechercher_professionnels(texte, limite=LIMITE)
    from django.db.models import prefetch_related_objects

    jour = timezone.localdate()
    en_cours = Exercice.objects.filter(Q(date_fin__isnull=True) | Q(date_fin__gte=jour)).select_related(
        "structure"
    )
    prefetch_related_objects(
        recherche.professionnels, Prefetch("exercices", queryset=en_cours, to_attr="exercices_en_cours")
    )
    return Resultats(recherche.professionnels, recherche.message)


def structures(texte: str) -> Resultats:
    """Structures par FINESS (établissement ou entité juridique, exact) ou par nom (contient)."""
    compact = compacter(texte or "")
    if len(compact) == 9 and compact[:2].isalnum() and compact[2:].isdigit():
        trouvees = Structure.objects.filter(Q(finess_eg=compact) | Q(finess_ej=compact))
    elif len((texte or "").strip()) >= 3:
        trouvees = Structure.objects.filter(
            Q(raison_sociale__icontains=texte.strip()) | Q(enseigne__icontains=texte.strip())
        )
    else:
        return Resultats([], "Tapez au moins 3 lettres du nom, ou le numéro FINESS (9 caractères).")
    elements = list(trouvees.order_by("raison_sociale", "id")[:LIMITE])
    return Resultats(elements, "" if elements else "Aucune structure trouvée : vérifiez le nom ou le FINESS.")


def proches(usager: Usager) -> list[Proche]:
    """Les proches enregistrés de l'usager, liens en cours."""
    jour = timezone.localdate()
    return list(
        Proche.objects.filter(usager=usager)
        .filter(Q(date_fin__isnull=True) | Q(date_fin__gte=jour))
        .order_by("nom", "prenoms", "id")
    )
