"""Qui prévenir : les clés d'acteur candidates d'un cercle ou de membres, et leur résolution en
acteurs (avec leur compte) pour revérifier le droit de chacun au moment de la distribution."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from cercle.models import Membre, StatutMembre, TypeMembre
from coordination.comptes.acteur import Acteur, TypeActeur
from coordination.personnes.models import Exercice, Proche, Usager


def _en_cours() -> Q:
    return Q(date_fin__isnull=True) | Q(date_fin__gte=timezone.localdate())


def cles_des_membres(membres: Iterable[Membre]) -> set[str]:
    """Les clés d'acteur des personnes derrière ces présences : la situation d'exercice du
    professionnel (toutes les siennes en cours s'il n'en précise pas), le proche, et les
    professionnels en exercice dans une structure membre (ils tiennent leurs droits d'elle)."""
    cles: set[str] = set()
    professionnels, structures = set(), set()
    for membre in membres:
        if membre.type == TypeMembre.PROFESSIONNEL:
            if membre.exercice_id is not None:
                cles.add(f"exercice:{membre.exercice.uuid}")
            else:
                professionnels.add(membre.professionnel_id)
        elif membre.type == TypeMembre.PROCHE:
            cles.add(f"proche:{membre.proche.uuid}")
        elif membre.type == TypeMembre.STRUCTURE:
            structures.add(membre.structure_id)
    return cles | cles_des_exercices(professionnels, structures)


def cles_des_exercices(professionnels: set[int], structures: set[int] = frozenset()) -> set[str]:
    """Les situations d'exercice en cours de ces professionnels et dans ces structures."""
    if not professionnels and not structures:
        return set()
    exercices = Exercice.objects.filter(_en_cours(), professionnel__compte__isnull=False).filter(
        Q(professionnel_id__in=professionnels) | Q(structure_id__in=structures)
    )
    return {f"exercice:{u}" for u in exercices.values_list("uuid", flat=True)}


def cles_du_cercle(usager: Usager) -> set[str]:
    """Les candidats pour un événement du dossier de `usager` : lui-même, ses proches qui ont un
    compte (dont son représentant légal), les membres actifs de son cercle."""
    cles = {f"usager:{usager.uuid}"} if usager.compte_id else set()
    proches = Proche.objects.filter(_en_cours(), usager=usager, compte__isnull=False)
    cles.update(f"proche:{u}" for u in proches.values_list("uuid", flat=True))
    membres = Membre.objects.filter(cercle__usager=usager, statut=StatutMembre.ACTIF).select_related(
        "exercice", "proche"
    )
    return cles | cles_des_membres(membres)


def acteurs_des_cles(cles: Iterable[str]) -> dict[str, Acteur]:
    """Clé d'acteur → acteur avec son compte (trois requêtes au plus). Les clés d'une situation
    d'exercice finie, d'un proche sans lien en cours ou d'une personne sans compte sont omises."""
    par_type: dict[str, set[str]] = {"exercice": set(), "proche": set(), "usager": set()}
    for cle in cles:
        sorte, _, valeur = cle.partition(":")
        if sorte in par_type and valeur:
            par_type[sorte].add(valeur)
    acteurs: dict[str, Acteur] = {}
    if par_type["exercice"]:
        for e in Exercice.objects.filter(
            _en_cours(), uuid__in=par_type["exercice"], professionnel__compte__isnull=False
        ).select_related("professionnel__compte", "structure"):
            compte = e.professionnel.compte
            acteurs[f"exercice:{e.uuid}"] = Acteur(TypeActeur.PROFESSIONNEL, compte, exercice=e)
    if par_type["proche"]:
        for p in Proche.objects.filter(
            _en_cours(), uuid__in=par_type["proche"], compte__isnull=False
        ).select_related("compte", "usager"):
            acteurs[f"proche:{p.uuid}"] = Acteur(TypeActeur.PROCHE, p.compte, proche=p, usager=p.usager)
    if par_type["usager"]:
        for u in Usager.objects.filter(uuid__in=par_type["usager"], compte__isnull=False).select_related(
            "compte"
        ):
            acteurs[f"usager:{u.uuid}"] = Acteur(TypeActeur.USAGER, u.compte, usager=u)
    return acteurs
