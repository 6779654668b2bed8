"""Récurrences (RFC 5545) : déplier une série sur une fenêtre, en heure murale de son fuseau.

Une série est stockée comme sa première occurrence, sa règle RRULE, ses dates retirées (EXDATE)
et ses occurrences remplacées (RECURRENCE-ID) ; ce module la déplie à la lecture avec
`dateutil.rrule`, sur un début **avec fuseau** : l'arithmétique des dates se fait alors en heure
murale, si bien qu'un rendez-vous de 10 h reste à 10 h après le passage à l'heure d'été ou
d'hiver (son décalage UTC change). Une heure qui n'existe pas (2 h 30 le jour du passage à
l'heure d'été) prend le décalage d'avant le changement : elle tombe à 3 h 30 (règle de Python,
`fold=0`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil import rrule as du
from django.core.exceptions import ValidationError

COMPTE_MAX = 1000
FREQUENCES = {"YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"}
CLES = {
    "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY",
    "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
}  # fmt: skip
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6})(Z?))?$")


@dataclass(frozen=True)
class Remplacement:
    """Une occurrence remplacée (RECURRENCE-ID) : nouveaux horaires, ou annulée."""

    recurrence_id: dt.datetime
    debut: dt.datetime | None = None
    fin: dt.datetime | None = None
    annulee: bool = False
    cle: str = ""


@dataclass(frozen=True)
class Serie:
    debut: dt.datetime
    fin: dt.datetime
    fuseau: str = "Europe/Paris"
    journee_entiere: bool = False
    rrule: str = ""
    exdates: tuple[dt.datetime, ...] = ()
    remplacements: tuple[Remplacement, ...] = ()


@dataclass(frozen=True)
class Occurrence:
    debut: dt.datetime
    fin: dt.datetime
    recurrence_id: dt.datetime | None
    journee_entiere: bool
    cle: str = ""
    annulee: bool = False


# --- Règles -------------------------------------------------------------------------------------


def _refus(message: str) -> ValidationError:
    return ValidationError(f"Règle de répétition refusée : {message}")


def normaliser_rrule(texte: str, debut: dt.datetime) -> str:
    """La règle validée et normalisée : clés en majuscules, UNTIL en UTC (« …Z ») — une UNTIL
    sans fuseau est lue dans le fuseau de `debut`, une date seule vaut jusqu'à la fin de ce jour.
    Refus en français d'une règle illisible, trop fine (à la seconde, à la minute) ou trop longue."""
    texte = (texte or "").strip()
    if texte.upper().startswith("RRULE:"):
        texte = texte[6:]
    parties: dict[str, str] = {}
    for morceau in filter(None, texte.split(";")):
        cle, egal, valeur = morceau.partition("=")
        cle = cle.strip().upper()
        if not egal or cle not in CLES or not valeur.strip():
            raise _refus(f"« {morceau} » n'est pas compris.")
        if cle in parties:
            raise _refus(f"« {cle} » est donné deux fois.")
        parties[cle] = valeur.strip().upper()
    frequence = parties.get("FREQ")
    if frequence not in FREQUENCES:
        raise _refus(
            "indiquez une fréquence (tous les jours, toutes les semaines, tous les mois, tous les ans)."
        )
    if "COUNT" in parties and "UNTIL" in parties:
        raise _refus("donnez un nombre de fois ou une date de fin, pas les deux.")
    if "COUNT" in parties and (
        not parties["COUNT"].isdigit() or not 1 <= int(parties["COUNT"]) <= COMPTE_MAX
    ):
        raise _refus(f"le nombre de fois va de 1 à {COMPTE_MAX}.")
    if "INTERVAL" in parties and (
        not parties["INTERVAL"].isdigit() or not 1 <= int(parties["INTERVAL"]) <= 366
    ):
        raise _refus("l'intervalle va de 1 à 366.")
    if "UNTIL" in parties:
        parties["UNTIL"] = _until_en_utc(parties["UNTIL"], debut)
    normalisee = ";".join(f"{cle}={valeur}" for cle, valeur in parties.items())
    try:
        regle = _regle(normalisee, debut)
        premiere = next(iter(regle), None)
    except (ValueError, TypeError) as erreur:
        raise _refus(f"elle est illisible ({erreur}).") from None
    if premiere is None:
        raise _refus("elle ne produit aucune date.")
    return normalisee


def _until_en_utc(valeur: str, debut: dt.datetime) -> str:
    trouve = _UNTIL.match(valeur)
    if not trouve:
        raise _refus(f"la date de fin « {valeur} » n'est pas au format AAAAMMJJ ou AAAAMMJJTHHMMSSZ.")
    jour, heure, utc = trouve.groups()
    try:
        date = dt.datetime.strptime(jour + (heure or "235959"), "%Y%m%d%H%M%S")
    except ValueError:
        raise _refus(f"la date de fin « {valeur} » n'existe pas.") from None
    instant = date.replace(tzinfo=dt.UTC) if utc else date.replace(tzinfo=debut.tzinfo)
    return instant.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _regle(texte: str, debut: dt.datetime) -> du.rrule:
    return du.rrulestr(texte, dtstart=debut, forceset=False, cache=False)


# --- Dépliage -----------------------------------------------------------------------------------


def _debut_local(serie: Serie) -> dt.datetime:
    return serie.debut.astimezone(ZoneInfo(serie.fuseau))


def _fin_de(serie: Serie, debut: dt.datetime) -> dt.datetime:
    """Fin d'une occurrence (en UTC) : même durée réelle ; en jours entiers (minuit local) pour
    « toute la journée ». Les calculs se font en UTC : entre deux instants du même fuseau, Python
    soustrait en heure murale."""
    if serie.journee_entiere:
        zone = ZoneInfo(serie.fuseau)
        jours = (serie.fin.astimezone(zone).date() - serie.debut.astimezone(zone).date()).days
        local = debut.astimezone(zone)
        fin = dt.datetime.combine(local.date() + dt.timedelta(days=jours), dt.time(0), tzinfo=zone)
        return fin.astimezone(dt.UTC)
    return debut.astimezone(dt.UTC) + (serie.fin.astimezone(dt.UTC) - serie.debut.astimezone(dt.UTC))


def deplier(
    serie: Serie, debut: dt.datetime, fin: dt.datetime, *, limite: int = COMPTE_MAX
) -> list[Occurrence]:
    """Les occurrences (en UTC) qui touchent [debut, fin), triées : une séance déplacée apparaît à
    son nouvel horaire (même si son horaire d'origine est hors de la fenêtre), une séance annulée
    garde sa place avec `annulee=True`, les dates retirées (EXDATE) n'apparaissent pas."""
    debut, fin = debut.astimezone(dt.UTC), fin.astimezone(dt.UTC)
    if not serie.rrule:
        premier, dernier = serie.debut.astimezone(dt.UTC), serie.fin.astimezone(dt.UTC)
        return (
            [Occurrence(premier, dernier, None, serie.journee_entiere)]
            if premier < fin and dernier > debut
            else []
        )
    regle = _regle(serie.rrule, _debut_local(serie))
    retirees = {x.astimezone(dt.UTC) for x in serie.exdates}
    remplacements = {r.recurrence_id.astimezone(dt.UTC): r for r in serie.remplacements}
    duree = serie.fin.astimezone(dt.UTC) - serie.debut.astimezone(dt.UTC)
    marge = max(duree, dt.timedelta(days=2) if serie.journee_entiere else dt.timedelta(0))
    occurrences: list[Occurrence] = []
    for depart_local in regle.xafter(debut - marge, count=None, inc=False):
        depart = depart_local.astimezone(dt.UTC)
        if depart >= fin or len(occurrences) >= limite:
            break
        if depart in retirees or depart in remplacements:
            continue
        arrivee = _fin_de(serie, depart_local)
        if arrivee > debut:
            occurrences.append(Occurrence(depart, arrivee, depart, serie.journee_entiere))
    for origine, remplacement in remplacements.items():
        if origine in retirees or not _est_une_occurrence(regle, origine):
            continue
        nouveau_debut = (remplacement.debut or origine).astimezone(dt.UTC)
        nouvelle_fin = (remplacement.fin or _fin_de(serie, nouveau_debut)).astimezone(dt.UTC)
        if nouveau_debut < fin and nouvelle_fin > debut:
            occurrences.append(
                Occurrence(
                    nouveau_debut,
                    nouvelle_fin,
                    origine,
                    serie.journee_entiere,
                    cle=remplacement.cle,
                    annulee=remplacement.annulee,
                )
            )
    occurrences.sort(key=lambda o: (o.debut, o.fin))
    return occurrences[:limite]


def _est_une_occurrence(regle: du.rrule, instant: dt.datetime) -> bool:
    seconde = dt.timedelta(seconds=1)
    return any(
        abs(x - instant) < seconde for x in regle.between(instant - seconde, instant + seconde, inc=True)
    )


def fin_de_serie(serie: Serie) -> dt.datetime | None:
    """Fin de la dernière occurrence (séances déplacées comprises), None pour une série sans fin."""
    if not serie.rrule:
        return serie.fin
    if "COUNT=" not in serie.rrule and "UNTIL=" not in serie.rrule:
        return None
    regle = _regle(serie.rrule, _debut_local(serie))
    derniere = None
    for derniere in regle:  # noqa: B007 (on garde la dernière ; COUNT ≤ 1000 ou UNTIL)
        pass
    fins = [_fin_de(serie, derniere)] if derniere is not None else [serie.fin.astimezone(dt.UTC)]
    fins += [r.fin.astimezone(dt.UTC) for r in serie.remplacements if r.fin is not None]
    return max(fins)
