"""Disponibilités de l'agenda : horaires d'ouverture hebdomadaires dépliés en intervalles, et
jours fériés français (bibliothèque `holidays`) transformés en occupations d'une journée entière.

Module pur : aucun accès à la base. Les plages sont exprimées en heure légale de leur fuseau ;
le dépliage passe par `zoneinfo`, si bien qu'une plage 09:00–12:00 reste 09:00–12:00 à Paris
de part et d'autre des changements d'heure (l'écart en UTC, lui, change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from django.core.exceptions import ValidationError

from agenda.intervalles import Intervalle

#: Lundi qui sert d'ancre aux plages « une semaine sur n » sans date de début de validité.
ANCRE_SEMAINES = date(1970, 1, 5)

#: Zones de jours fériés → subdivision de `holidays` pour la France (None : métropole).
ZONES_FERIES: dict[str, str | None] = {
    "metropole": None,
    "alsace-moselle": "57",
    "guadeloupe": "971",
    "martinique": "972",
    "guyane": "973",
    "la-reunion": "974",
    "mayotte": "976",
    "saint-barthelemy": "BL",
    "saint-martin": "MF",
    "saint-pierre-et-miquelon": "PM",
    "nouvelle-caledonie": "NC",
    "polynesie-francaise": "PF",
    "wallis-et-futuna": "WF",
}


def _zone(fuseau: str) -> ZoneInfo:
    try:
        return ZoneInfo(fuseau)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationError(f"Fuseau horaire inconnu : « {fuseau} ».") from exc


def _verifier_instant(valeur: datetime, libelle: str) -> None:
    if not isinstance(valeur, datetime) or valeur.tzinfo is None or valeur.utcoffset() is None:
        raise ValidationError(f"{libelle} doit être une date et une heure avec fuseau horaire.")


@dataclass(frozen=True)
class Plage:
    """Disponibilité hebdomadaire récurrente, en heure légale de `fuseau` : les `jours` (0 = lundi
    … 6 = dimanche), de `heure_debut` à `heure_fin`, entre `du` et `au` inclus si indiqués, une
    semaine sur `toutes_les_n_semaines` (comptée depuis la semaine de `du`, sinon depuis le lundi
    5 janvier 1970)."""

    jours: frozenset[int]
    heure_debut: time
    heure_fin: time
    fuseau: str = "Europe/Paris"
    du: date | None = None
    au: date | None = None
    toutes_les_n_semaines: int = 1

    def __post_init__(self) -> None:
        if not self.jours or any(not isinstance(j, int) or not 0 <= j <= 6 for j in self.jours):
            raise ValidationError("Les jours d'une plage vont de 0 (lundi) à 6 (dimanche).")
        if self.heure_debut.tzinfo is not None or self.heure_fin.tzinfo is not None:
            raise ValidationError("Les heures d'une plage sont en heure légale, sans fuseau.")
        if self.heure_fin <= self.heure_debut:
            raise ValidationError("L'heure de fin d'une plage doit venir après l'heure de début.")
        _zone(self.fuseau)
        if self.du and self.au and self.au < self.du:
            raise ValidationError("La fin de validité d'une plage précède son début.")
        if not isinstance(self.toutes_les_n_semaines, int) or self.toutes_les_n_semaines < 1:
            raise ValidationError("Une plage revient au moins une fois toutes les 1 semaines.")

    def _semaine_active(self, jour: date) -> bool:
        if self.toutes_les_n_semaines == 1:
            return True
        ancre = self.du or ANCRE_SEMAINES
        lundi_ancre = ancre - timedelta(days=ancre.weekday())
        return ((jour - lundi_ancre).days // 7) % self.toutes_les_n_semaines == 0


def _instant(jour: date, heure: time, zone: ZoneInfo) -> datetime:
    """Heure légale → instant. Une heure qui n'existe pas (passage à l'heure d'été) est
    normalisée par l'aller-retour en UTC (02:30 devient 03:30)."""
    return datetime.combine(jour, heure, tzinfo=zone).astimezone(UTC).astimezone(zone)


def fusionner(intervalles) -> list[Intervalle]:
    """Trie et fusionne les intervalles qui se chevauchent ou se touchent."""
    resultat: list[Intervalle] = []
    for iv in sorted(intervalles, key=lambda i: (i.debut, i.fin)):
        if resultat and iv.debut <= resultat[-1].fin:
            if iv.fin > resultat[-1].fin:
                resultat[-1] = Intervalle(resultat[-1].debut, iv.fin)
        else:
            resultat.append(iv)
    return resultat


def deplier_plages(plages, debut: datetime, fin: datetime) -> list[Intervalle]:
    """Les plages dépliées entre `debut` et `fin` (rognées à ces bornes), triées et fusionnées
    quand elles se touchent ou se recouvrent. Instants avec fuseau : comparer ou afficher après
    `astimezone`, sans supposer celui de la plage."""
    _verifier_instant(debut, "Le début de la période")
    _verifier_instant(fin, "La fin de la période")
    if fin <= debut:
        raise ValidationError("La fin de la période doit venir après son début.")
    morceaux: list[Intervalle] = []
    for plage in plages:
        if not isinstance(plage, Plage):
            raise ValidationError("Chaque plage doit être une `Plage`.")
        zone = _zone(plage.fuseau)
        jour = debut.astimezone(zone).date()
        dernier = fin.astimezone(zone).date()
        if plage.du and plage.du > jour:
            jour = plage.du
        if plage.au and plage.au < dernier:
            dernier = plage.au
        while jour <= dernier:
            if jour.weekday() in plage.jours and plage._semaine_active(jour):
                a = max(_instant(jour, plage.heure_debut, zone), debut)
                b = min(_instant(jour, plage.heure_fin, zone), fin)
                if a < b:
                    morceaux.append(Intervalle(a, b))
            jour += timedelta(days=1)
    return fusionner(morceaux)


def _subdivision(zone: str) -> str | None:
    try:
        return ZONES_FERIES[zone]
    except (KeyError, TypeError) as exc:
        connues = ", ".join(sorted(ZONES_FERIES))
        raise ValidationError(
            f"Zone de jours fériés inconnue : « {zone} ». Zones connues : {connues}."
        ) from exc


def jours_feries(debut: date, fin: date, *, zone: str = "metropole") -> list[tuple[date, str]]:
    """Jours fériés de `zone` entre `debut` et `fin` inclus, triés, avec leur nom en français
    (« Fête du Travail », « Vendredi saint », « Abolition de l'esclavage »…)."""
    subdivision = _subdivision(zone)
    if isinstance(debut, datetime) or isinstance(fin, datetime):
        raise ValidationError("Les bornes des jours fériés sont des dates, sans heure.")
    if fin < debut:
        raise ValidationError("La fin de la période doit venir après son début.")
    calendrier = holidays.country_holidays(
        "FR", subdiv=subdivision, years=range(debut.year, fin.year + 1), language="fr"
    )
    return sorted((jour, nom) for jour, nom in calendrier.items() if debut <= jour <= fin)


def occupations_feries(
    debut: datetime, fin: datetime, *, zone: str = "metropole", fuseau: str = "Europe/Paris"
) -> list[Intervalle]:
    """Chaque jour férié de `zone` comme une journée entière d'occupation, de minuit à minuit en
    heure légale de `fuseau` (23 ou 25 heures les jours de changement d'heure), rognée à la
    période [debut, fin)."""
    _verifier_instant(debut, "Le début de la période")
    _verifier_instant(fin, "La fin de la période")
    if fin <= debut:
        raise ValidationError("La fin de la période doit venir après son début.")
    tz = _zone(fuseau)
    resultat = []
    for jour, _nom in jours_feries(debut.astimezone(tz).date(), fin.astimezone(tz).date(), zone=zone):
        a = max(_instant(jour, time(0), tz), debut)
        b = min(_instant(jour + timedelta(days=1), time(0), tz), fin)
        if a < b:
            resultat.append(Intervalle(a, b))
    return fusionner(resultat)
