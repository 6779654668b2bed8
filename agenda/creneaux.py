"""Moteur des créneaux communs (cas d'usage 4 et 4') : un module pur, sans base de données.

Pour chaque personne : ses disponibilités (déjà dépliées), moins ses occupations **élargies de son
propre temps libre** avant et après (appliqué avant l'intersection : une réunion [s, e) convient à
une personne si [s − avant, e + après) ne touche aucune de ses occupations, et si [s, e) tient
dans une de ses disponibilités). Les personnes requises sont intersectées par fusion de listes
triées (deux curseurs), avec sortie dès que l'intersection est vide. Les départs possibles sont
pris sur une grille de `pas` alignée sur les heures (en UTC : les décalages de la France sont des
heures entières, la grille tombe donc sur 9 h, 9 h 15…), pas avant `maintenant + preavis`.

Classement (ADR 0022) : d'abord le moins de personnes requises absentes, puis le moins de
personnes facultatives absentes, puis le plus de temps dans les préférences (de l'usager, de ses
proches), puis le plus tôt. Les créneaux rendus sont **répartis** : au plus deux par demi-journée
(matin avant 13 h, après-midi), sans chevauchement entre eux. Quand aucun créneau ne réunit toutes
les personnes requises, les meilleurs créneaux partiels sont rendus, avec qui manquerait."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

from agenda.disponibilites import fusionner
from agenda.intervalles import Intervalle

PARIS = ZoneInfo("Europe/Paris")
PAR_DEMI_JOURNEE = 2


@dataclass(frozen=True)
class Participant:
    cle: str
    nom: str
    disponibilites: tuple[Intervalle, ...]
    occupations: tuple[Intervalle, ...] = ()
    requis: bool = True
    tampon_avant: dt.timedelta = dt.timedelta(0)
    tampon_apres: dt.timedelta = dt.timedelta(0)
    preferences: tuple[Intervalle, ...] = ()


@dataclass(frozen=True)
class Creneau:
    debut: dt.datetime
    fin: dt.datetime
    absents: tuple[str, ...] = ()
    score: float = 0.0


@dataclass(frozen=True)
class Resultat:
    creneaux: tuple[Creneau, ...]
    complet: bool
    message: str


# --- Intervalles libres ---------------------------------------------------------------------------


def soustraire(base: Sequence[Intervalle], retraits: Sequence[Intervalle]) -> list[Intervalle]:
    """`base` moins `retraits` (deux listes triées et fusionnées), en une passe."""
    reste: list[Intervalle] = []
    j = 0
    for intervalle in base:
        debut = intervalle.debut
        while j < len(retraits) and retraits[j].fin <= debut:
            j += 1
        k = j
        while k < len(retraits) and retraits[k].debut < intervalle.fin:
            if retraits[k].debut > debut:
                reste.append(Intervalle(debut, retraits[k].debut))
            debut = max(debut, retraits[k].fin)
            k += 1
        if debut < intervalle.fin:
            reste.append(Intervalle(debut, intervalle.fin))
    return reste


def intersecter(a: Sequence[Intervalle], b: Sequence[Intervalle]) -> list[Intervalle]:
    """Intersection de deux listes triées et fusionnées (deux curseurs)."""
    resultat: list[Intervalle] = []
    i = j = 0
    while i < len(a) and j < len(b):
        debut, fin = max(a[i].debut, b[j].debut), min(a[i].fin, b[j].fin)
        if debut < fin:
            resultat.append(Intervalle(debut, fin))
        if a[i].fin < b[j].fin:
            i += 1
        else:
            j += 1
    return resultat


def libre(participant: Participant) -> list[Intervalle]:
    """Où la réunion peut se tenir pour cette personne : ses disponibilités moins ses occupations
    élargies de `tampon_apres` avant et de `tampon_avant` après (voir l'en-tête du module)."""
    elargies = []
    for occupation in participant.occupations:
        elargies.append(
            Intervalle(occupation.debut - participant.tampon_apres, occupation.fin + participant.tampon_avant)
        )
    return soustraire(fusionner(participant.disponibilites), fusionner(elargies))


def _tient(
    libres: Sequence[Intervalle], debuts: list[dt.datetime], debut: dt.datetime, fin: dt.datetime
) -> bool:
    """[debut, fin) tient-il dans un des intervalles libres (triés ; `debuts` leurs débuts) ?"""
    i = bisect.bisect_right(debuts, debut) - 1
    return i >= 0 and libres[i].fin >= fin


def _grille(
    debut: dt.datetime, fin: dt.datetime, pas: dt.timedelta, duree: dt.timedelta
) -> Iterable[dt.datetime]:
    """Les départs de la grille : multiples de `pas` depuis l'heure pleine (UTC) de `debut`."""
    origine = debut.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    rangs = -(-(debut - origine) // pas)  # arrondi au pas supérieur
    depart = origine + rangs * pas
    while depart + duree <= fin:
        yield depart
        depart += pas


# --- Recherche ------------------------------------------------------------------------------------


def _valider(participants, duree, debut, fin, pas) -> None:
    if not participants:
        raise ValidationError("Choisissez au moins une personne.")
    if duree <= dt.timedelta(0):
        raise ValidationError("La durée de la réunion doit être positive.")
    if pas <= dt.timedelta(0):
        raise ValidationError("Le pas de la recherche doit être positif.")
    if debut.tzinfo is None or fin.tzinfo is None:
        raise ValidationError("Les bornes de la recherche doivent préciser leur fuseau horaire.")
    if fin <= debut:
        raise ValidationError("La fin de la période de recherche doit venir après son début.")


def _premier_depart(debut: dt.datetime, maintenant: dt.datetime | None, preavis: dt.timedelta) -> dt.datetime:
    return max(debut, maintenant + preavis) if maintenant is not None else debut


def departs_complets(
    participants: Sequence[Participant],
    *,
    duree: dt.timedelta,
    debut: dt.datetime,
    fin: dt.datetime,
    pas: dt.timedelta = dt.timedelta(minutes=15),
    maintenant: dt.datetime | None = None,
    preavis: dt.timedelta = dt.timedelta(0),
) -> list[dt.datetime]:
    """Tous les départs de la grille où chaque personne requise est libre, triés (avant classement
    et répartition ; c'est ce que les tests de propriétés comparent à une recherche exhaustive)."""
    _valider(participants, duree, debut, fin, pas)
    depart_min = _premier_depart(debut, maintenant, preavis)
    commun = [Intervalle(depart_min, fin)] if depart_min < fin else []
    for participant in participants:
        if participant.requis and commun:
            commun = intersecter(commun, libre(participant))
    departs = []
    for intervalle in commun:
        if intervalle.duree >= duree:
            departs.extend(_grille(intervalle.debut, intervalle.fin, pas, duree))
    return departs


def absents(participants: Sequence[Participant], debut: dt.datetime, fin: dt.datetime) -> tuple[str, ...]:
    """Les personnes (requises d'abord) qui ne pourraient pas venir à [debut, fin)."""
    requis, facultatifs = [], []
    for participant in participants:
        libres = libre(participant)
        if not _tient(libres, [x.debut for x in libres], debut, fin):
            (requis if participant.requis else facultatifs).append(participant.cle)
    return tuple(requis + facultatifs)


def _recouvrement(preferences: Sequence[Intervalle], debut: dt.datetime, fin: dt.datetime) -> float:
    total = dt.timedelta(0)
    for preference in preferences:
        if preference.debut < fin and debut < preference.fin:
            total += min(fin, preference.fin) - max(debut, preference.debut)
    return total / (fin - debut)


def _demi_journee(instant: dt.datetime) -> tuple[dt.date, bool]:
    local = instant.astimezone(PARIS)
    return local.date(), local.hour >= 13


def _repartir(classes: list[Creneau], nombre: int) -> tuple[Creneau, ...]:
    retenus: list[Creneau] = []
    par_demi_journee: dict[tuple[dt.date, bool], int] = {}
    for creneau in classes:
        cle = _demi_journee(creneau.debut)
        if par_demi_journee.get(cle, 0) >= PAR_DEMI_JOURNEE:
            continue
        if any(creneau.debut < r.fin and r.debut < creneau.fin for r in retenus):
            continue
        retenus.append(creneau)
        par_demi_journee[cle] = par_demi_journee.get(cle, 0) + 1
        if len(retenus) >= nombre:
            break
    return tuple(retenus)


def chercher_creneaux(
    participants: Sequence[Participant],
    *,
    duree: dt.timedelta,
    debut: dt.datetime,
    fin: dt.datetime,
    pas: dt.timedelta = dt.timedelta(minutes=15),
    maintenant: dt.datetime | None = None,
    preavis: dt.timedelta = dt.timedelta(0),
    nombre: int = 10,
) -> Resultat:
    participants = list(participants)
    complets = departs_complets(
        participants, duree=duree, debut=debut, fin=fin, pas=pas, maintenant=maintenant, preavis=preavis
    )
    libres = {p.cle: libre(p) for p in participants}
    debuts = {cle: [x.debut for x in liste] for cle, liste in libres.items()}
    preferences = fusionner(x for p in participants for x in p.preferences)
    noms = {p.cle: p.nom for p in participants}

    def noter(depart: dt.datetime, manquants_requis: list[str]) -> Creneau:
        arrivee = depart + duree
        facultatifs = [
            p.cle
            for p in participants
            if not p.requis and not _tient(libres[p.cle], debuts[p.cle], depart, arrivee)
        ]
        prefere = _recouvrement(preferences, depart, arrivee) if preferences else 0.0
        jours = (depart - debut).total_seconds() / 86400
        score = -1000 * len(manquants_requis) - 100 * len(facultatifs) + 10 * prefere - jours / 100
        return Creneau(depart, arrivee, tuple(manquants_requis + facultatifs), round(score, 4))

    if complets:
        classes = sorted((noter(d, []) for d in complets), key=lambda c: (-c.score, c.debut))
        retenus = _repartir(classes, nombre)
        message = (
            f"{len(retenus)} créneau{'x' if len(retenus) > 1 else ''} où tout le monde est libre, "
            "du plus favorable au moins favorable."
        )
        return Resultat(retenus, True, message)

    # Aucun créneau complet : les départs où le plus de personnes requises sont libres.
    requis = [p for p in participants if p.requis]
    depart_min = _premier_depart(debut, maintenant, preavis)
    candidats = []
    meilleur = len(requis) + 1
    for depart in _grille(depart_min, fin, pas, duree) if depart_min < fin else ():
        manquants = [
            p.cle for p in requis if not _tient(libres[p.cle], debuts[p.cle], depart, depart + duree)
        ]
        if len(manquants) == len(requis):
            continue  # personne de requis : pas un créneau
        if len(manquants) < meilleur:
            meilleur, candidats = len(manquants), []
        if len(manquants) == meilleur:
            candidats.append(noter(depart, manquants))
    if not candidats:
        return Resultat((), False, "Aucun créneau : personne n'est disponible sur cette période.")
    retenus = _repartir(sorted(candidats, key=lambda c: (-c.score, c.debut)), nombre)
    manquent = ", ".join(noms[cle] for cle in retenus[0].absents if cle in {p.cle for p in requis})
    message = (
        "Aucun créneau où tout le monde est libre. Voici les meilleurs créneaux partiels ; "
        f"au mieux, il manquerait : {manquent}."
    )
    return Resultat(retenus, False, message)
