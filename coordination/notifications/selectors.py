"""Lectures des notifications : toujours celles du compte connecté, jamais d'un autre."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from coordination.notifications.catalogue import Canal, Frequence
from coordination.notifications.models import Notification, Preference
from coordination.notifications.preferences import (
    FREQUENCES_PAR_CANAL,
    THEMES,
    Coordonnees,
    frequence_par_defaut,
)
from coordination.notifications.services import nom_du_champ

TAILLE_LISTE = 100


def mes_notifications(compte) -> QuerySet[Notification]:
    """Les notifications du compte, non lues d'abord, puis les plus récentes, avec la personne
    qu'elles concernent (une requête)."""
    non_lue = ExpressionWrapper(Q(lue_le__isnull=True), output_field=BooleanField())
    return (
        Notification.objects.filter(compte=compte)
        .select_related("usager")
        .annotate(non_lue=non_lue)
        .order_by("-non_lue", "-cree_le", "-pk")[:TAILLE_LISTE]
    )


def nombre_non_lues(compte) -> int:
    return Notification.objects.filter(compte=compte, lue_le__isnull=True).count()


@dataclass
class Cellule:
    champ: str
    canal: Canal
    valeur: str
    choix: list[tuple[str, str]]
    indisponible: str  # raison en français, "" si le canal est offert
    erreur: str = ""


@dataclass
class Ligne:
    nature: str
    libelle: str
    cellules: list[Cellule]


def tableau_des_preferences(
    compte, coordonnees: Coordonnees, saisie: dict | None = None, erreurs: dict | None = None
) -> list[tuple[str, list[Ligne]]]:
    """Le tableau nature × canal par thème, avec la valeur enregistrée (ou par défaut), ou la
    saisie refusée à remontrer telle quelle (rien n'est perdu)."""
    enregistrees = {(p.nature, p.canal): p.frequence for p in Preference.objects.filter(compte=compte)}
    saisie, erreurs = saisie or {}, erreurs or {}
    themes = []
    for titre, natures in THEMES:
        lignes = []
        for nature in natures:
            cellules = []
            for canal in Canal:
                champ = nom_du_champ(nature, canal)
                defaut = enregistrees.get((nature.value, canal.value)) or frequence_par_defaut(nature, canal)
                indisponible = coordonnees.raison_indisponible(canal)
                valeur = saisie.get(champ, Frequence.JAMAIS if indisponible else defaut)
                choix = [(f, Frequence(f).label) for f in FREQUENCES_PAR_CANAL[canal]]
                cellules.append(Cellule(champ, canal, valeur, choix, indisponible, erreurs.get(champ, "")))
            lignes.append(Ligne(nature.value, nature.label, cellules))
        themes.append((titre, lignes))
    return themes
