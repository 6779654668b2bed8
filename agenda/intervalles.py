"""Intervalle de temps, la monnaie commune de l'agenda : occurrences dépliées, disponibilités,
occupations, créneaux. Toujours des instants avec fuseau (jamais « naïfs »), gardés en UTC, fin
exclue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError


@dataclass(frozen=True, order=True)
class Intervalle:
    debut: datetime
    fin: datetime

    def __post_init__(self) -> None:
        if self.debut.tzinfo is None or self.fin.tzinfo is None:
            raise ValidationError("Un horaire sans fuseau horaire n'est pas accepté.")
        # En UTC : entre deux instants du même fuseau, Python compare et soustrait en heure murale
        # (la durée d'une nuit de changement d'heure serait fausse d'une heure).
        object.__setattr__(self, "debut", self.debut.astimezone(dt.UTC))
        object.__setattr__(self, "fin", self.fin.astimezone(dt.UTC))
        if self.fin <= self.debut:
            raise ValidationError("La fin doit venir après le début.")

    @property
    def duree(self) -> timedelta:
        return self.fin - self.debut

    def chevauche(self, autre: Intervalle) -> bool:
        return self.debut < autre.fin and autre.debut < self.fin

    def contient(self, autre: Intervalle) -> bool:
        return self.debut <= autre.debut and autre.fin <= self.fin
