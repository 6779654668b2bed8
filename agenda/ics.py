"""ICS (RFC 5545) dans les deux sens, avec `icalendar` et `recurring-ical-events`.

- Sortie : les événements du portail en VCALENDAR (flux webcal privés) : une série avec sa RRULE,
  ses EXDATE et ses séances remplacées (RECURRENCE-ID), les fuseaux en VTIMEZONE, SEQUENCE et
  STATUS pour que les calendriers abonnés mettent à jour au lieu de dupliquer.
- Entrée : les temps occupés d'un calendrier extérieur (fichier ou libre/occupé) sur une fenêtre :
  séries dépliées par `recurring-ical-events` (fuseaux Windows, X-WR-TIMEZONE, séances déplacées,
  EXDATE en UTC…), événements TRANSPARENT ou annulés ignorés, périodes FREEBUSY occupées ajoutées.
  Jamais le contenu : seulement les intervalles."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import recurring_ical_events
from django.core.exceptions import ValidationError
from django.utils import timezone
from icalendar import Calendar, Event, vRecur

from agenda.disponibilites import fusionner
from agenda.intervalles import Intervalle
from agenda.models import Evenement, StatutEvenement

PRODID = "-//Portail de coordination//agenda//FR"
TAILLE_MAX = 5_000_000
STATUTS = {
    StatutEvenement.PROPOSE: "TENTATIVE",
    StatutEvenement.EN_ATTENTE: "TENTATIVE",
    StatutEvenement.RESERVE: "CONFIRMED",
    StatutEvenement.ABSENT: "CONFIRMED",
    StatutEvenement.ANNULE: "CANCELLED",
}
OCCUPE = {"BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"}


class ErreurIcs(ValidationError):
    """Un fichier de calendrier illisible, avec un message en français."""


# --- Sortie ---------------------------------------------------------------------------------------


def uid_evenement(evenement: Evenement) -> str:
    """L'UID iCalendar d'un événement du portail (le même dans les flux et en CalDAV)."""
    return f"{evenement.uuid}@portail-coordination"


def _moment(instant: dt.datetime, evenement: Evenement) -> dt.datetime | dt.date:
    local = instant.astimezone(ZoneInfo(evenement.fuseau))
    return local.date() if evenement.journee_entiere else local


def _vevent(
    evenement: Evenement, maintenant: dt.datetime, *, masque: bool, serie: Evenement | None = None
) -> Event:
    vevent = Event()
    vevent.add("uid", uid_evenement(serie or evenement))
    vevent.add("dtstamp", maintenant)
    vevent.add("dtstart", _moment(evenement.debut, evenement))
    vevent.add("dtend", _moment(evenement.fin, evenement))
    vevent.add("sequence", (serie or evenement).sequence)
    vevent.add("status", STATUTS.get(evenement.statut, "CONFIRMED"))
    vevent.add("last-modified", evenement.modifie_le)
    if masque:
        vevent.add("summary", "Occupé")
        vevent.add("class", "CONFIDENTIAL")
        return vevent
    vevent.add("summary", evenement.titre)
    adresses = [
        " ".join(filter(None, (lieu.get("libelle"), lieu.get("adresse")))) for lieu in evenement.lieux
    ]
    if any(adresses):
        vevent.add("location", " ; ".join(a for a in adresses if a))
    description = [evenement.motif] + [
        f"Visio : {lieu['visio']}" for lieu in evenement.lieux if lieu.get("visio")
    ]
    if any(description):
        vevent.add("description", "\n".join(d for d in description if d))
    return vevent


def ecrire_calendrier(
    evenements: Iterable[Evenement], *, nom: str, masquer: Callable[[Evenement], bool] = lambda e: False
) -> bytes:
    """Un VCALENDAR des événements (séries avec leurs séances remplacées préchargées dans
    `remplacements_precharges`). `masquer(e)` : l'événement ne montre que « Occupé »."""
    calendrier = Calendar()
    calendrier.add("prodid", PRODID)
    calendrier.add("version", "2.0")
    calendrier.add("calscale", "GREGORIAN")
    calendrier.add("method", "PUBLISH")
    calendrier.add("x-wr-calname", nom)
    maintenant = timezone.now()
    for evenement in evenements:
        masque = masquer(evenement)
        vevent = _vevent(evenement, maintenant, masque=masque)
        if evenement.rrule:
            vevent.add("rrule", vRecur.from_ical(evenement.rrule))
            for exdate in evenement.exdates:
                vevent.add("exdate", _moment(exdate, evenement))
        calendrier.add_component(vevent)
        for remplacement in getattr(evenement, "remplacements_precharges", ()):
            fille = _vevent(remplacement, maintenant, masque=masque, serie=evenement)
            fille.add("recurrence-id", _moment(remplacement.recurrence_id, evenement))
            calendrier.add_component(fille)
    calendrier.add_missing_timezones()
    return calendrier.to_ical()


# --- Entrée ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occupation:
    """Un temps occupé lu dans un calendrier extérieur (identifiant et début d'origine pour le
    remplacer à la prochaine lecture)."""

    uid: str
    recurrence_id: dt.datetime | None
    intervalle: Intervalle


def lire_calendrier(contenu: bytes | str, *, taille_max: int = TAILLE_MAX) -> Calendar:
    if isinstance(contenu, str):
        contenu = contenu.encode()
    if len(contenu) > taille_max:
        raise ErreurIcs(f"Fichier de calendrier trop gros : {taille_max // 1_000_000} Mo au plus.")
    if b"BEGIN:VCALENDAR" not in contenu[:2000].upper():
        raise ErreurIcs("Ce fichier n'est pas un calendrier iCalendar (.ics).")
    try:
        calendrier = Calendar.from_ical(contenu)
    except (ValueError, KeyError, IndexError) as erreur:
        raise ErreurIcs(f"Calendrier illisible : {erreur}.") from None
    _reparer_regles(calendrier)
    return calendrier


def _reparer_regles(calendrier: Calendar) -> None:
    """Des serveurs Exchange écrivent « BYDAY=MO, TU, WE » (espaces après les virgules) : la règle
    est relue sans ces espaces plutôt que la série perdue."""
    for composant in calendrier.walk("VEVENT"):
        regle = composant.get("rrule")
        if regle is None or isinstance(regle, vRecur):
            continue
        try:
            composant["RRULE"] = vRecur.from_ical(re.sub(r",\s+", ",", str(regle)))
        except ValueError:
            continue  # vraiment illisible : la série sera ignorée


def _instant(valeur, fuseau: ZoneInfo) -> dt.datetime:
    if isinstance(valeur, dt.datetime):
        return valeur if valeur.tzinfo else valeur.replace(tzinfo=fuseau)
    return dt.datetime.combine(valeur, dt.time(0), tzinfo=fuseau)


def occupations(
    calendrier: Calendar, debut: dt.datetime, fin: dt.datetime, *, fuseau: str = "Europe/Paris"
) -> list[Occupation]:
    """Les temps occupés de [debut, fin) : occurrences des VEVENT qui bloquent le temps (ni
    TRANSPARENT, ni CANCELLED ; les dates seules sont des journées locales entières) et périodes
    FREEBUSY occupées. Un événement dont la fin précède le début est lu à l'envers."""
    zone = ZoneInfo(fuseau)
    resultat: list[Occupation] = []
    try:
        composants = recurring_ical_events.of(calendrier, skip_bad_series=True).between(debut, fin)
    except (ValueError, TypeError) as erreur:
        raise ErreurIcs(f"Répétitions illisibles dans ce calendrier : {erreur}.") from None
    for vevent in composants:
        if vevent.name != "VEVENT":
            continue
        if str(vevent.get("transp", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(vevent.get("status", "")).upper() == "CANCELLED":
            continue
        depart = _instant(vevent.decoded("dtstart"), zone)
        arrivee = _instant(vevent.decoded("dtend"), zone) if "dtend" in vevent else None
        if arrivee is None:
            arrivee = depart + (vevent.decoded("duration") if "duration" in vevent else dt.timedelta(0))
        depart, arrivee = min(depart, arrivee), max(depart, arrivee)
        if arrivee <= depart:
            continue  # un point dans le temps n'occupe rien
        rid = vevent.get("recurrence-id")
        resultat.append(
            Occupation(
                str(vevent.get("uid", "")),
                _instant(rid.dt, zone) if rid is not None else None,
                Intervalle(depart, arrivee),
            )
        )
    for libre_occupe in calendrier.walk("VFREEBUSY"):
        for propriete in _liste(libre_occupe.get("freebusy")):
            if str(propriete.params.get("FBTYPE", "BUSY")).upper() not in OCCUPE:
                continue
            for periode in _periodes(propriete):
                depart, arrivee = periode
                if depart < fin and arrivee > debut:
                    resultat.append(Occupation("freebusy", None, Intervalle(depart, arrivee)))
    resultat.sort(key=lambda o: (o.intervalle.debut, o.intervalle.fin))
    return resultat


def _liste(valeur) -> list:
    if valeur is None:
        return []
    return valeur if isinstance(valeur, list) else [valeur]


def _periodes(propriete) -> list[tuple[dt.datetime, dt.datetime]]:
    """La période (début, fin) d'une valeur FREEBUSY (icalendar la lit en `vPeriod` : début et fin,
    ou début et durée)."""
    depart = getattr(propriete, "start", None)
    if not isinstance(depart, dt.datetime):
        return []
    arrivee = getattr(propriete, "end", None) or depart + propriete.duration
    depart = depart if depart.tzinfo else depart.replace(tzinfo=dt.UTC)
    arrivee = arrivee if arrivee.tzinfo else arrivee.replace(tzinfo=dt.UTC)
    return [(depart, arrivee)] if arrivee > depart else []


def intervalles_occupes(calendrier: Calendar, debut: dt.datetime, fin: dt.datetime) -> list[Intervalle]:
    """Les temps occupés fusionnés (pour le moteur de créneaux)."""
    return fusionner(o.intervalle for o in occupations(calendrier, debut, fin))
