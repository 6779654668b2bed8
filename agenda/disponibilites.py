"""Disponibilités d'un professionnel (plages hebdomadaires en heure murale) et jours fériés
français par zone, dépliés en intervalles pour le moteur de créneaux (`agenda/creneaux.py`).

Les fériés viennent de la bibliothèque `holidays` (noms en français) : métropole, Alsace-Moselle
(Vendredi saint, Saint-Étienne) et outre-mer (abolition de l'esclavage à sa date locale)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays
from django.core.exceptions import ValidationError

from agenda.intervalles import Intervalle

# zone → (subdivision de `holidays.France`, fuseau horaire du lieu)
ZONES: dict[str, tuple[str | None, str]] = {
    "metropole": (None, "Europe/Paris"),
    "alsace-moselle": ("57", "Europe/Paris"),
    "guadeloupe": ("971", "America/Guadeloupe"),
    "martinique": ("972", "America/Martinique"),
    "guyane": ("973", "America/Cayenne"),
    "la-reunion": ("974", "Indian/Reunion"),
    "mayotte": ("976", "Indian/Mayotte"),
    "saint-barthelemy": ("BL", "America/St_Barthelemy"),
    "saint-martin": ("MF", "America/Marigot"),
    "saint-pierre-et-miquelon": ("PM", "America/Miquelon"),
    "nouvelle-caledonie": ("NC", "Pacific/Noumea"),
    "polynesie-francaise": ("PF", "Pacific/Tahiti"),
    "wallis-et-futuna": ("WF", "Pacific/Wallis"),
}
LUNDI_DE_REFERENCE = dt.date(2001, 1, 1)  # un lundi : ancre des plages « une semaine sur n » sans date


@dataclass(frozen=True)
class Plage:
    """Disponibilité récurrente chaque semaine, en heure murale de `fuseau`."""

    jours: frozenset[int]  # 0 = lundi … 6 = dimanche
    heure_debut: dt.time
    heure_fin: dt.time
    fuseau: str = "Europe/Paris"
    du: dt.date | None = None
    au: dt.date | None = None
    toutes_les_n_semaines: int = 1


def fusionner(intervalles: Iterable[Intervalle]) -> list[Intervalle]:
    """Trie et fusionne les intervalles qui se chevauchent ou se touchent."""
    fusion: list[Intervalle] = []
    for intervalle in sorted(intervalles):
        if fusion and intervalle.debut <= fusion[-1].fin:
            if intervalle.fin > fusion[-1].fin:
                fusion[-1] = Intervalle(fusion[-1].debut, intervalle.fin)
        else:
            fusion.append(intervalle)
    return fusion


def _semaine_retenue(plage: Plage, jour: dt.date) -> bool:
    if plage.toutes_les_n_semaines <= 1:
        return True
    ancre = plage.du or LUNDI_DE_REFERENCE
    lundi_ancre = ancre - dt.timedelta(days=ancre.weekday())
    return ((jour - lundi_ancre).days // 7) % plage.toutes_les_n_semaines == 0


def deplier_plages(plages: Iterable[Plage], debut: dt.datetime, fin: dt.datetime) -> list[Intervalle]:
    """Les plages sur [debut, fin), fusionnées et triées. 9 h–12 h reste 9 h–12 h à l'heure locale
    de part et d'autre des changements d'heure."""
    intervalles = []
    for plage in plages:
        zone = ZoneInfo(plage.fuseau)
        jour = debut.astimezone(zone).date() - dt.timedelta(days=1)
        dernier = fin.astimezone(zone).date()
        while jour <= dernier:
            if (
                jour.weekday() in plage.jours
                and (plage.du is None or jour >= plage.du)
                and (plage.au is None or jour <= plage.au)
                and _semaine_retenue(plage, jour)
            ):
                ouverture = dt.datetime.combine(jour, plage.heure_debut, tzinfo=zone)
                fermeture = dt.datetime.combine(jour, plage.heure_fin, tzinfo=zone)
                ouverture, fermeture = max(ouverture, debut), min(fermeture, fin)
                if ouverture < fermeture:
                    intervalles.append(Intervalle(ouverture, fermeture))
            jour += dt.timedelta(days=1)
    return fusionner(intervalles)


def _zone(zone: str) -> tuple[str | None, str]:
    try:
        return ZONES[zone]
    except KeyError:
        connues = ", ".join(ZONES)
        raise ValidationError(f"Zone de jours fériés inconnue : « {zone} » (connues : {connues}).") from None


def jours_feries(debut: dt.date, fin: dt.date, *, zone: str = "metropole") -> list[tuple[dt.date, str]]:
    """Les jours fériés de la zone entre `debut` et `fin` compris, avec leur nom."""
    subdivision, _ = _zone(zone)
    calendrier = holidays.France(subdiv=subdivision, years=range(debut.year, fin.year + 1), language="fr")
    return sorted((jour, nom) for jour, nom in calendrier.items() if debut <= jour <= fin)


def occupations_feries(
    debut: dt.datetime, fin: dt.datetime, *, zone: str = "metropole", fuseau: str | None = None
) -> list[Intervalle]:
    """Chaque jour férié de la zone comme une journée locale entière d'occupation."""
    _, fuseau_de_la_zone = _zone(zone)
    lieu = ZoneInfo(fuseau or fuseau_de_la_zone)
    intervalles = []
    for jour, _nom in jours_feries(debut.astimezone(lieu).date(), fin.astimezone(lieu).date(), zone=zone):
        minuit = dt.datetime.combine(jour, dt.time(0), tzinfo=lieu)
        lendemain = dt.datetime.combine(jour + dt.timedelta(days=1), dt.time(0), tzinfo=lieu)
        intervalles.append(Intervalle(minuit, lendemain))
    return intervalles
