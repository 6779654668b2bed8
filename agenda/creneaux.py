"""Moteur de créneaux communs (issue 6, cas 4 et 4') : trouver quand plusieurs personnes peuvent
se retrouver, ou, à défaut, les meilleurs créneaux partiels en nommant qui manquerait.

Module pur : des dataclasses en entrée et en sortie, aucun accès à la base. L'intégrateur déplie
les horaires d'ouverture (`agenda.disponibilites.deplier_plages`), rassemble les rendez-vous,
absences, jours fériés et occupations externes, puis appelle `chercher_creneaux`.

Principe (ADR 0022). Tous les calculs se font en secondes depuis l'époque (entiers UTC) :

1. pour chaque participant, l'ensemble des **débuts possibles** est une liste triée d'intervalles
   fermés [a, b] : chaque disponibilité [D, F) donne [D, F - durée] ; chaque occupation [O1, O2)
   interdit les débuts de l'intervalle ouvert ]O1 - durée - tampon_après, O2 + tampon_avant[
   (les tampons de la personne sont appliqués *avant* l'intersection) ;
2. les participants requis sont intersectés deux à deux par fusion à deux curseurs, avec sortie
   anticipée dès que l'intersection est vide ;
3. les débuts candidats sont les multiples de `pas` depuis l'époque UTC (09:00, 09:15…) : les
   décalages de Europe/Paris étant des heures entières, un pas qui divise l'heure tombe aussi sur
   les quarts d'heure de l'heure légale ; un pas qui ne divise pas l'heure (ex. 25 min) reste
   aligné sur l'époque, pas sur minuit ;
4. classement, puis étalement (au plus un créneau par demi-journée, puis deux si la première passe
   n'en fournit pas assez).

Aucune boucle minute par minute : le coût est en O(n log n) sur le nombre d'occupations, plus un
parcours des débuts candidats (2 688 pour quatre semaines au quart d'heure).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

from agenda.intervalles import Intervalle

#: Heure légale (Europe/Paris) qui sépare le matin de l'après-midi pour l'étalement des résultats.
HEURE_MIDI = 13

#: Poids du score (voir `Creneau.score`).
POIDS_REQUIS = 1000.0
POIDS_OPTIONNEL = 10.0


@dataclass(frozen=True)
class Participant:
    """Une personne à réunir. `disponibilites` : horaires d'ouverture déjà dépliés sur l'horizon ;
    `occupations` : rendez-vous, absences, jours fériés, occupations externes. Les tampons sont
    le temps libre dont la personne a besoin avant et après la rencontre (trajet, préparation).
    `preferences` : fenêtres préférées (l'usager « plutôt le matin »)."""

    cle: str
    nom: str
    disponibilites: tuple[Intervalle, ...]
    occupations: tuple[Intervalle, ...] = ()
    requis: bool = True
    tampon_avant: timedelta = timedelta(0)
    tampon_apres: timedelta = timedelta(0)
    preferences: tuple[Intervalle, ...] = ()


@dataclass(frozen=True)
class Creneau:
    """Un créneau proposé. `absents` : clés des participants qui ne pourraient pas venir (requis
    d'abord, puis optionnels, chacun dans l'ordre des participants).

    `score` (plus grand = meilleur) = 1000 × requis présents + 10 × optionnels présents
    + recouvrement des préférences (moyenne, sur les participants qui ont des préférences, de la
    part du créneau comprise dans leurs fenêtres préférées, entre 0 et 1). À score égal, le plus
    tôt passe devant."""

    debut: datetime
    fin: datetime
    absents: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class Resultat:
    """`complet` : vrai si chaque participant requis est libre dans chaque créneau rendu."""

    creneaux: tuple[Creneau, ...]
    complet: bool
    message: str


# --- Validation -------------------------------------------------------------------------------


def _verifier_instant(valeur: datetime, libelle: str) -> None:
    if not isinstance(valeur, datetime):
        raise ValidationError(f"{libelle} doit être une date et une heure.")
    if valeur.tzinfo is None or valeur.utcoffset() is None:
        raise ValidationError(f"{libelle} doit porter un fuseau horaire (heure « naïve » refusée).")


def _verifier(participants, duree, debut, fin, pas, maintenant, preavis, nombre) -> list:
    participants = list(participants or ())
    if not participants:
        raise ValidationError("Indiquez au moins un participant pour chercher un créneau.")
    if not isinstance(duree, timedelta) or duree <= timedelta(0):
        raise ValidationError("La durée du rendez-vous doit être positive.")
    if not isinstance(pas, timedelta) or pas <= timedelta(0):
        raise ValidationError("Le pas entre deux débuts de créneau doit être positif.")
    if pas.total_seconds() % 60:
        raise ValidationError("Le pas entre deux débuts de créneau doit être un nombre de minutes.")
    _verifier_instant(debut, "Le début de la période")
    _verifier_instant(fin, "La fin de la période")
    if fin <= debut:
        raise ValidationError("La fin de la période doit venir après son début.")
    if maintenant is not None:
        _verifier_instant(maintenant, "L'instant présent")
    if not isinstance(preavis, timedelta) or preavis < timedelta(0):
        raise ValidationError("Le préavis ne peut pas être négatif.")
    if not isinstance(nombre, int) or nombre < 1:
        raise ValidationError("Le nombre de créneaux demandés doit être au moins 1.")
    cles = set()
    for p in participants:
        if not isinstance(p, Participant):
            raise ValidationError("Chaque participant doit être un `Participant`.")
        if p.tampon_avant < timedelta(0) or p.tampon_apres < timedelta(0):
            raise ValidationError(f"Les tampons de {p.nom} ne peuvent pas être négatifs.")
        if p.cle in cles:
            raise ValidationError(f"{p.nom} figure deux fois parmi les participants.")
        cles.add(p.cle)
    return participants


# --- Calcul en secondes -----------------------------------------------------------------------


def _s(instant: datetime) -> int:
    return math.floor(instant.timestamp())


def _fusionner(intervalles: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union d'intervalles [a, b) : triés, fusionnés quand ils se touchent ou se recouvrent."""
    resultat: list[tuple[int, int]] = []
    for a, b in sorted(intervalles):
        if resultat and a <= resultat[-1][1]:
            if b > resultat[-1][1]:
                resultat[-1] = (resultat[-1][0], b)
        else:
            resultat.append((a, b))
    return resultat


def _soustraire(permis: list[tuple[int, int]], interdits: list[tuple[int, int]]):
    """Retire des intervalles fermés `permis` les intervalles **ouverts** `interdits` (triés,
    disjoints). Deux curseurs : linéaire en la somme des tailles."""
    resultat: list[tuple[int, int]] = []
    j, n = 0, len(interdits)
    for a, b in permis:
        while j < n and interdits[j][1] <= a:
            j += 1
        courant, k = a, j
        while k < n and interdits[k][0] < b:
            x, y = interdits[k]
            if x >= courant:
                resultat.append((courant, x))
            if y > courant:
                courant = y
            if courant > b:
                break
            k += 1
        if courant <= b:
            resultat.append((courant, b))
    return resultat


def _intersecter(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Intersection de deux listes triées d'intervalles fermés (fusion à deux curseurs)."""
    resultat: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        bas = max(a[i][0], b[j][0])
        haut = min(a[i][1], b[j][1])
        if bas <= haut:
            resultat.append((bas, haut))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return resultat


def _debuts_possibles(p: Participant, duree: int, borne: int, dernier: int):
    """Débuts possibles de la personne, en intervalles fermés, bornés à [borne, dernier]."""
    permis = []
    for a, b in _fusionner([(_s(d.debut), _s(d.fin)) for d in p.disponibilites]):
        a, b = max(a, borne), min(b - duree, dernier)
        if a <= b:
            permis.append((a, b))
    if not permis or not p.occupations:
        return permis
    avant = int(p.tampon_avant.total_seconds())
    apres = int(p.tampon_apres.total_seconds())
    interdits = _fusionner_ouverts([(_s(o.debut) - duree - apres, _s(o.fin) + avant) for o in p.occupations])
    return _soustraire(permis, interdits)


def _fusionner_ouverts(intervalles: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union d'intervalles ouverts ]a, b[ : deux intervalles qui se touchent seulement (b == a')
    restent séparés, car le point commun reste permis."""
    resultat: list[tuple[int, int]] = []
    for a, b in sorted(intervalles):
        if resultat and a < resultat[-1][1]:
            if b > resultat[-1][1]:
                resultat[-1] = (resultat[-1][0], b)
        else:
            resultat.append((a, b))
    return resultat


def _points_de_grille(intervalles, pas: int):
    """Multiples de `pas` (en secondes depuis l'époque) contenus dans les intervalles fermés."""
    for a, b in intervalles:
        t = -(-a // pas) * pas
        while t <= b:
            yield t
            t += pas


class _Contexte:
    """Ce qui est calculé une fois par recherche : débuts possibles par participant, bornes."""

    def __init__(self, participants, duree, debut, fin, pas, maintenant, preavis):
        self.participants = participants
        self.duree = int(duree.total_seconds())
        self.pas = int(pas.total_seconds())
        # Ajouter une durée à un instant « Europe/Paris » se fait en heure légale en Python :
        # on passe par l'UTC pour que 48 h de préavis fassent 48 vraies heures.
        borne = debut if maintenant is None else max(debut, maintenant.astimezone(UTC) + preavis)
        self.borne = _s(borne) if borne.microsecond == 0 else _s(borne) + 1
        self.dernier = _s(fin) - self.duree
        self.requis = [p for p in participants if p.requis]
        self.optionnels = [p for p in participants if not p.requis]
        self.debuts = {
            p.cle: _debuts_possibles(p, self.duree, self.borne, self.dernier) for p in participants
        }
        # Masque par participant sur la grille des débuts (un octet par pas) : « libre à t ? »
        # devient une simple lecture d'indice au moment du classement.
        self.origine = -(-self.borne // self.pas) * self.pas
        taille = max(0, (self.dernier - self.origine) // self.pas + 1)
        self.masques = {}
        for cle, intervalles in self.debuts.items():
            masque = bytearray(taille)
            for a, b in intervalles:
                i0 = -(-(a - self.origine) // self.pas)
                i1 = min((b - self.origine) // self.pas, taille - 1)
                if i0 <= i1:
                    masque[i0 : i1 + 1] = b"\x01" * (i1 - i0 + 1)
            self.masques[cle] = masque
        self.masques_requis = [(p.cle, self.masques[p.cle]) for p in self.requis]
        self.masques_optionnels = [(p.cle, self.masques[p.cle]) for p in self.optionnels]
        self.preferences = [
            _fusionner([(_s(i.debut), _s(i.fin)) for i in p.preferences])
            for p in participants
            if p.preferences
        ]

    def commun_aux_requis(self) -> list[tuple[int, int]]:
        if not self.requis:
            return [(self.borne, self.dernier)] if self.borne <= self.dernier else []
        # Les plus courtes listes d'abord : l'intersection se vide plus vite.
        listes = sorted((self.debuts[p.cle] for p in self.requis), key=len)
        commun = listes[0]
        for autre in listes[1:]:
            if not commun:
                break
            commun = _intersecter(commun, autre)
        return commun

    def recouvrement(self, t: int) -> float:
        if not self.preferences:
            return 0.0
        fin = t + self.duree
        total = 0.0
        for fenetres in self.preferences:
            i = max(bisect_right(fenetres, (t, t)) - 1, 0)
            commun = 0
            while i < len(fenetres) and fenetres[i][0] < fin:
                a, b = fenetres[i]
                commun += max(0, min(b, fin) - max(a, t))
                i += 1
            total += commun / self.duree
        return total / len(self.preferences)

    def evaluer(self, t: int) -> tuple[tuple, tuple[str, ...], float]:
        """Clé de tri (plus petite = meilleure), absents, score."""
        i = (t - self.origine) // self.pas
        absents_requis = [cle for cle, masque in self.masques_requis if not masque[i]]
        absents_opt = [cle for cle, masque in self.masques_optionnels if not masque[i]]
        pref = self.recouvrement(t)
        presents_requis = len(self.requis) - len(absents_requis)
        presents_opt = len(self.optionnels) - len(absents_opt)
        score = POIDS_REQUIS * presents_requis + POIDS_OPTIONNEL * presents_opt + pref
        cle = (len(absents_requis), len(absents_opt), -pref, t)
        return cle, tuple(absents_requis + absents_opt), score


def _valider_et_preparer(participants, duree, debut, fin, pas, maintenant, preavis, nombre=1):
    participants = _verifier(participants, duree, debut, fin, pas, maintenant, preavis, nombre)
    return _Contexte(participants, duree, debut, fin, pas, maintenant, preavis)


def debuts_complets(
    participants,
    *,
    duree: timedelta,
    debut: datetime,
    fin: datetime,
    pas: timedelta = timedelta(minutes=15),
    maintenant: datetime | None = None,
    preavis: timedelta = timedelta(0),
) -> list[datetime]:
    """Tous les débuts (sur la grille du pas) où chaque participant requis est libre, tampons
    compris, avant classement, étalement et limite. Sert aux tests de propriétés et au débogage."""
    ctx = _valider_et_preparer(participants, duree, debut, fin, pas, maintenant, preavis)
    return [datetime.fromtimestamp(t, UTC) for t in _points_de_grille(ctx.commun_aux_requis(), ctx.pas)]


#: Autre nom de `debuts_complets`, celui qu'emploient les autres modules de l'agenda.
departs_complets = debuts_complets


def libre(participant: Participant) -> list[Intervalle]:
    """Où une rencontre peut se tenir pour cette personne : ses disponibilités (unies) moins ses
    occupations élargies de `tampon_apres` avant elles et de `tampon_avant` après elles (une
    rencontre [s, e) est faisable ssi elle tient dans un de ces intervalles). Triés, disjoints."""
    avant = int(participant.tampon_avant.total_seconds())
    apres = int(participant.tampon_apres.total_seconds())
    ouverts = _fusionner([(_s(d.debut), _s(d.fin)) for d in participant.disponibilites])
    retraits = _fusionner([(_s(o.debut) - apres, _s(o.fin) + avant) for o in participant.occupations])
    resultat, j = [], 0
    for a, b in ouverts:
        while j < len(retraits) and retraits[j][1] <= a:
            j += 1
        courant, k = a, j
        while k < len(retraits) and retraits[k][0] < b:
            if retraits[k][0] > courant:
                resultat.append((courant, retraits[k][0]))
            courant = max(courant, retraits[k][1])
            k += 1
        if courant < b:
            resultat.append((courant, b))
    return [Intervalle(datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)) for a, b in resultat]


def absents(participants, debut: datetime, fin: datetime) -> tuple[str, ...]:
    """Clés des participants (requis d'abord, puis facultatifs) qui ne pourraient pas venir à une
    rencontre [debut, fin), tampons compris."""
    _verifier_instant(debut, "Le début de la rencontre")
    _verifier_instant(fin, "La fin de la rencontre")
    if fin <= debut:
        raise ValidationError("La fin de la rencontre doit venir après son début.")
    s, duree = _s(debut), _s(fin) - _s(debut)
    occupes = [p for p in participants if not _debuts_possibles(p, duree, s, s)]
    return tuple(p.cle for p in occupes if p.requis) + tuple(p.cle for p in occupes if not p.requis)


def _demi_journee(t: int, fuseau: ZoneInfo) -> tuple:
    local = datetime.fromtimestamp(t, fuseau)
    return (local.date(), local.hour >= HEURE_MIDI)


def _etaler(classes: list, nombre: int, fuseau: ZoneInfo) -> list:
    """Étalement, palier par palier (un palier = même nombre de requis absents et d'optionnels
    absents, pour qu'un créneau moins bon ne passe jamais devant un meilleur) : au plus un
    créneau par demi-journée (heure légale, coupure à 13 h), puis, si cela n'en donne pas
    `nombre`, un deuxième par demi-journée. Jamais plus de deux par demi-journée."""
    retenus: list = []
    par_demi_journee: dict[tuple, int] = {}
    paliers: dict[tuple, list] = {}
    for element in classes:
        paliers.setdefault(element[0][:2], []).append(element)
    for palier in paliers.values():
        pris: set[int] = set()
        for limite in (1, 2):
            for i, element in enumerate(palier):
                if len(retenus) >= nombre:
                    return retenus
                if i in pris:
                    continue
                cle = _demi_journee(element[0][-1], fuseau)
                if par_demi_journee.get(cle, 0) < limite:
                    par_demi_journee[cle] = par_demi_journee.get(cle, 0) + 1
                    pris.add(i)
                    retenus.append(element)
    return retenus


def _enumerer_noms(noms: list[str]) -> str:
    if len(noms) == 1:
        return noms[0]
    return ", ".join(noms[:-1]) + " et " + noms[-1]


def chercher_creneaux(
    participants,
    *,
    duree: timedelta,
    debut: datetime,
    fin: datetime,
    pas: timedelta = timedelta(minutes=15),
    maintenant: datetime | None = None,
    preavis: timedelta = timedelta(0),
    nombre: int = 10,
    fuseau: str = "Europe/Paris",
) -> Resultat:
    """Les meilleurs créneaux de `duree` entre `debut` et `fin`, au plus `nombre`, classés du
    meilleur au moins bon : présence de tous les requis, puis moins d'optionnels absents, puis
    meilleur recouvrement des préférences, puis le plus tôt ; étalés (au plus deux par
    demi-journée de `fuseau`). Sans créneau commun aux requis, rend les meilleurs créneaux
    partiels (le plus de requis présents) avec `complet=False` et un message qui nomme les absents.
    Entrée invalide : `ValidationError` en français."""
    ctx = _valider_et_preparer(participants, duree, debut, fin, pas, maintenant, preavis, nombre)
    zone = ZoneInfo(fuseau)
    noms = {p.cle: p.nom for p in ctx.participants}

    commun = ctx.commun_aux_requis()
    candidats = list(_points_de_grille(commun, ctx.pas))
    complet = bool(candidats)
    if not complet:
        # Tous les débuts de la grille où au moins un requis est libre.
        union = _fusionner([iv for p in ctx.requis for iv in ctx.debuts[p.cle]])
        candidats = sorted(set(_points_de_grille(union, ctx.pas)))
    if not candidats:
        return Resultat(
            creneaux=(),
            complet=False,
            message="Aucun créneau : aucun participant requis n'est disponible sur la période.",
        )

    classes = sorted((ctx.evaluer(t) for t in candidats), key=lambda e: e[0])
    retenus = _etaler(classes, nombre, zone)
    creneaux = tuple(
        Creneau(
            debut=datetime.fromtimestamp(cle[-1], UTC).astimezone(zone),
            fin=datetime.fromtimestamp(cle[-1] + ctx.duree, UTC).astimezone(zone),
            absents=absents,
            score=score,
        )
        for cle, absents, score in retenus
    )
    if complet:
        if ctx.optionnels and creneaux[0].absents:
            manquants = _enumerer_noms([noms[c] for c in creneaux[0].absents])
            message = (
                f"{len(creneaux)} créneau(x) où tous les participants requis sont libres ; "
                f"au meilleur, participation facultative impossible pour {manquants}."
            )
        else:
            message = f"{len(creneaux)} créneau(x) où tous les participants requis sont libres."
        return Resultat(creneaux=creneaux, complet=True, message=message)

    requis = {p.cle for p in ctx.requis}
    manquants = [noms[c] for c in creneaux[0].absents if c in requis]
    verbe = "ne serait pas disponible" if len(manquants) == 1 else "ne seraient pas disponibles"
    message = (
        "Aucun créneau commun : voici les meilleurs créneaux partiels. "
        f"Au premier proposé, {_enumerer_noms(manquants)} {verbe}."
    )
    return Resultat(creneaux=creneaux, complet=False, message=message)
