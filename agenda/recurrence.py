"""Récurrence des rendez-vous : déplier une série (RRULE, EXDATE, occurrences remplacées) sur une
fenêtre de temps (ADR 0023). Module pur : des dataclasses en entrée, des dataclasses en sortie,
aucun accès à la base.

- La règle est lue par icalendar (`vRecur`) puis déroulée par python-dateutil (`rrule`) ; aucun
  analyseur de RRULE écrit à la main.
- **Heure murale** : la règle est déroulée en heure locale du fuseau de la série (« 10:00 reste
  10:00 » de part et d'autre d'un changement d'heure), puis chaque début est rattaché au fuseau.
- **Heure inexistante** (02:30 le jour du passage à l'heure d'été) : interprétée avec le décalage
  d'avant le saut, comme le veut RFC 5545 §3.3.5, soit 03:30 heure d'été (même durée).
  **Heure ambiguë** (02:30 le jour du retour à l'heure d'hiver) : la première des deux (heure
  d'été), comme le veut aussi RFC 5545.
- **Journée entière** : début à minuit local, fin exclue à minuit local du jour suivant (ou après
  N jours) : une journée reste une journée entière locale, même de 23 ou 25 heures.
- **UNTIL** en UTC (« Z ») ou en heure locale : ramené à l'heure locale de la série avant le
  déroulement ; une date seule (VALUE=DATE) vaut jusqu'à la fin de ce jour local.
- **Limite** : `deplier` rend au plus `limite` occurrences (les premières) ; `normaliser_rrule`
  refuse les fréquences à la seconde ou à la minute, COUNT ou INTERVAL au-delà de 1 000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr
from django.core.exceptions import ValidationError
from icalendar.prop import vRecur

COUNT_MAX = 1000
INTERVAL_MAX = 1000
FREQUENCES_ACCEPTEES = {"YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"}
HORIZON_FIN = timedelta(days=366 * 30)  # au-delà, `fin_de_serie` rend None (série « infinie »)


@dataclass(frozen=True)
class Remplacement:
    """Une occurrence remplacée (RECURRENCE-ID) : déplacée, raccourcie ou annulée."""

    recurrence_id: datetime
    debut: datetime | None = None
    fin: datetime | None = None
    annulee: bool = False
    cle: str = ""


@dataclass(frozen=True)
class Serie:
    """Une série telle que l'intégrateur la range : première occurrence, règle, exceptions."""

    debut: datetime
    fin: datetime
    fuseau: str = "Europe/Paris"
    journee_entiere: bool = False
    rrule: str = ""
    exdates: tuple[datetime, ...] = ()
    remplacements: tuple[Remplacement, ...] = ()

    def __post_init__(self) -> None:
        _exiger_fuseau(self.debut, "Le début de la série")
        _exiger_fuseau(self.fin, "La fin de la série")
        for exdate in self.exdates:
            _exiger_fuseau(exdate, "Une date exclue (EXDATE)")
        for remplacement in self.remplacements:
            _exiger_fuseau(remplacement.recurrence_id, "L'occurrence remplacée (RECURRENCE-ID)")
        if self.fin < self.debut:
            raise ValidationError("La fin de la série doit venir après son début.")
        zone_de(self.fuseau)


@dataclass(frozen=True)
class Occurrence:
    debut: datetime
    fin: datetime
    recurrence_id: datetime | None
    journee_entiere: bool
    cle: str = ""


def _exiger_fuseau(valeur: datetime, quoi: str) -> None:
    if not isinstance(valeur, datetime) or valeur.tzinfo is None:
        raise ValidationError(f"{quoi} doit être un horaire avec fuseau horaire.")


@lru_cache(maxsize=64)
def zone_de(fuseau: str) -> ZoneInfo:
    """Le fuseau IANA nommé, ou une ValidationError en français."""
    try:
        return ZoneInfo(fuseau)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(f"Fuseau horaire inconnu : « {fuseau} ».") from None


def rattacher(mural: datetime, zone: ZoneInfo) -> datetime:
    """Heure murale (naïve) → instant dans `zone`. Heure inexistante : décalage d'avant le saut
    (02:30 → 03:30 heure d'été) ; heure ambiguë : la première (fold=0). RFC 5545 §3.3.5."""
    return mural.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def _analyser(texte: str) -> vRecur:
    texte = (texte or "").strip()
    if texte.upper().startswith("RRULE:"):
        texte = texte[6:]
    if not texte:
        raise ValidationError("La règle de récurrence est vide.")
    try:
        parties = vRecur.from_ical(texte)
    except Exception:
        raise ValidationError(f"Règle de récurrence illisible : « {texte[:200]} ».") from None
    if not parties.get("FREQ"):
        raise ValidationError("La règle de récurrence doit donner une fréquence (FREQ).")
    return parties


def _controler(parties: vRecur) -> None:
    frequence = str(parties["FREQ"][0]).upper()
    if frequence not in FREQUENCES_ACCEPTEES:
        raise ValidationError(
            f"Fréquence de récurrence refusée : « {frequence} » (au plus une fois par heure)."
        )
    for nom, maximum in (("COUNT", COUNT_MAX), ("INTERVAL", INTERVAL_MAX)):
        if nom in parties:
            try:
                valeur = int(parties[nom][0])
            except (TypeError, ValueError):
                raise ValidationError(f"{nom} doit être un nombre entier.") from None
            if not 1 <= valeur <= maximum:
                raise ValidationError(f"{nom} doit être compris entre 1 et {maximum}.")
    if "COUNT" in parties and "UNTIL" in parties:
        raise ValidationError("Une règle de récurrence ne peut pas avoir à la fois COUNT et UNTIL.")


_JOURS = {"MO": "lundi", "TU": "mardi", "WE": "mercredi", "TH": "jeudi", "FR": "vendredi", "SA": "samedi",
          "SU": "dimanche"}  # fmt: skip
_UNITES = {"HOURLY": ("heure", "toutes les", "heures"), "DAILY": ("jour", "tous les", "jours"),
           "WEEKLY": ("semaine", "toutes les", "semaines"), "MONTHLY": ("mois", "tous les", "mois"),
           "YEARLY": ("an", "tous les", "ans")}  # fmt: skip


def _jour(code: str) -> str:
    """« MO » → « lundi » ; « 1MO » → « 1er lundi » ; « -1FR » → « dernier vendredi »."""
    code = code.upper()
    nom, rang = _JOURS.get(code[-2:], code), code[:-2]
    if not rang:
        return nom
    if rang == "-1":
        return f"dernier {nom}"
    return f"{rang.lstrip('+')}{'er' if rang.lstrip('+') == '1' else 'e'} {nom}"


def decrire_regle(texte: str) -> str:
    """Une règle de récurrence en français courant (« chaque semaine, le lundi, le mercredi et le
    vendredi ») ; le texte tel quel si la règle est illisible (rien n'est perdu)."""
    try:
        parties = _analyser(texte)
        _controler(parties)
    except ValidationError:
        return texte
    frequence = str(parties["FREQ"][0]).upper()
    intervalle = int(parties["INTERVAL"][0]) if "INTERVAL" in parties else 1
    singulier, tous, pluriel = _UNITES[frequence]
    if intervalle > 1:
        phrase = f"{tous} {intervalle} {pluriel}"
    else:
        phrase = "tous les jours" if frequence == "DAILY" else f"chaque {singulier}"
    jours = [_jour(str(j)) for j in parties.get("BYDAY", [])]
    if jours:
        liste = jours[0] if len(jours) == 1 else ", ".join(jours[:-1]) + " et " + jours[-1]
        phrase += f", le {liste}" if len(jours) == 1 else f", les {liste}"
    if "COUNT" in parties:
        phrase += f", {int(parties['COUNT'][0])} fois"
    return phrase


def _until_local(valeur: date | datetime, zone: ZoneInfo) -> datetime:
    """UNTIL → heure murale naïve dans le fuseau de la série (borne incluse)."""
    if isinstance(valeur, datetime):
        if valeur.tzinfo is None:
            return valeur
        return valeur.astimezone(zone).replace(tzinfo=None)
    return datetime.combine(valeur, time(23, 59, 59))


def _regle(serie: Serie) -> rrule:
    """La règle dateutil, déroulée en heure murale naïve du fuseau de la série."""
    zone = zone_de(serie.fuseau)
    parties = _analyser(serie.rrule)
    _controler(parties)
    parties = vRecur(parties)
    if "UNTIL" in parties:
        parties["UNTIL"] = [_until_local(parties["UNTIL"][0], zone)]
    texte = vRecur(parties).to_ical().decode()
    depart = serie.debut.astimezone(zone).replace(tzinfo=None)
    if serie.journee_entiere:
        depart = datetime.combine(depart.date(), time())
    try:
        return rrulestr(texte, dtstart=depart)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"Règle de récurrence invalide : {exc}.") from None


def normaliser_rrule(texte: str, debut: datetime) -> str:
    """Valide la règle et la rend sous une forme stable (UNTIL en UTC « Z »), ou lève une
    ValidationError en français (illisible, fréquence trop fine, COUNT > 1 000, aucune
    occurrence…). Un UNTIL sans « Z » est lu dans le fuseau de `debut`."""
    _exiger_fuseau(debut, "Le début de la série")
    parties = _analyser(texte)
    _controler(parties)
    parties = vRecur(parties)
    if "UNTIL" in parties:
        until = parties["UNTIL"][0]
        if isinstance(until, datetime):
            if until.tzinfo is None:
                until = rattacher(until, debut.tzinfo)
            parties["UNTIL"] = [until.astimezone(UTC)]
    normalisee = vRecur(parties).to_ical().decode()
    zone = debut.tzinfo
    if "UNTIL" in parties:
        parties["UNTIL"] = [_until_local(parties["UNTIL"][0], zone)]
    try:
        regle = rrulestr(vRecur(parties).to_ical().decode(), dtstart=debut.replace(tzinfo=None))
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"Règle de récurrence invalide : {exc}.") from None
    if regle.after(debut.replace(tzinfo=None), inc=True) is None:
        raise ValidationError("La règle de récurrence ne donne aucune occurrence.")
    return normalisee


def ecart(debut: datetime, fin: datetime) -> timedelta:
    """Durée écoulée réelle (l'arithmétique de Python dans un même fuseau compte en heure murale)."""
    return fin.astimezone(UTC) - debut.astimezone(UTC)


def ajouter(instant: datetime, duree: timedelta) -> datetime:
    """`instant` + `duree` écoulée réelle, exprimé dans le fuseau de `instant`."""
    return (instant.astimezone(UTC) + duree).astimezone(instant.tzinfo)


def _duree(serie: Serie) -> timedelta:
    if serie.journee_entiere:
        zone = zone_de(serie.fuseau)
        jours = (serie.fin.astimezone(zone).date() - serie.debut.astimezone(zone).date()).days
        return timedelta(days=max(jours, 1))
    return ecart(serie.debut, serie.fin)


def _occurrence_originale(serie: Serie, mural: datetime, duree: timedelta) -> tuple[datetime, datetime]:
    zone = zone_de(serie.fuseau)
    debut = rattacher(mural, zone)
    if serie.journee_entiere:
        return debut, rattacher(mural + duree, zone)
    return debut, ajouter(debut, duree)


def _cle_instant(serie: Serie, instant: datetime):
    """Clé de comparaison d'une occurrence : l'instant (UTC), ou le jour local en journée entière."""
    if serie.journee_entiere:
        return instant.astimezone(zone_de(serie.fuseau)).date()
    return instant.astimezone(UTC)


def _chevauche(debut: datetime, fin: datetime, fenetre_debut: datetime, fenetre_fin: datetime) -> bool:
    if debut == fin:  # un point dans le temps (DTEND absent) : dans la fenêtre s'il y tombe
        return fenetre_debut <= debut < fenetre_fin
    return debut < fenetre_fin and fenetre_debut < fin


def deplier(serie: Serie, debut: datetime, fin: datetime, *, limite: int = 1000) -> list[Occurrence]:
    """Les occurrences qui chevauchent [debut, fin), triées. Une occurrence déplacée apparaît à
    son nouvel horaire même si son horaire d'origine est hors de la fenêtre (et inversement) ;
    les EXDATE et les remplacements annulés disparaissent. Au plus `limite` occurrences."""
    _exiger_fuseau(debut, "Le début de la fenêtre")
    _exiger_fuseau(fin, "La fin de la fenêtre")
    if fin <= debut:
        raise ValidationError("La fin de la fenêtre doit venir après son début.")
    if not serie.rrule:
        if _chevauche(serie.debut, serie.fin, debut, fin):
            return [Occurrence(serie.debut, serie.fin, None, serie.journee_entiere)]
        return []

    zone = zone_de(serie.fuseau)
    duree = _duree(serie)
    regle = _regle(serie)
    exclues = {_cle_instant(serie, d) for d in serie.exdates}
    remplacees = {_cle_instant(serie, r.recurrence_id): r for r in serie.remplacements}

    resultat: list[Occurrence] = []
    # Bornes murales élargies (un jour de marge pour les décalages), filtrées ensuite en instants.
    mural_debut = debut.astimezone(zone).replace(tzinfo=None) - duree - timedelta(days=1)
    mural_fin = fin.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    for mural in regle.xafter(mural_debut, inc=True):
        if mural >= mural_fin:
            break
        o_debut, o_fin = _occurrence_originale(serie, mural, duree)
        cle = _cle_instant(serie, o_debut)
        if cle in exclues or cle in remplacees:
            continue
        if _chevauche(o_debut, o_fin, debut, fin):
            resultat.append(Occurrence(o_debut, o_fin, o_debut, serie.journee_entiere))
            if len(resultat) >= limite:
                break

    for cle, remplacement in remplacees.items():
        if remplacement.annulee or cle in exclues:
            continue
        origine = remplacement.recurrence_id.astimezone(zone)
        if serie.journee_entiere:
            origine_fin = rattacher(origine.replace(tzinfo=None) + duree, zone)
        else:
            origine_fin = ajouter(origine, duree)
        r_debut = remplacement.debut or origine
        r_fin = remplacement.fin or ajouter(r_debut, ecart(origine, origine_fin))
        if _chevauche(r_debut, r_fin, debut, fin):
            resultat.append(Occurrence(r_debut, r_fin, origine, serie.journee_entiere, remplacement.cle))
    resultat.sort(key=lambda o: (o.debut, o.fin))
    return resultat[:limite]


def fin_de_serie(serie: Serie) -> datetime | None:
    """Fin de la dernière occurrence (remplacements compris), ou None si la série est infinie."""
    fins = [serie.fin]
    if serie.rrule:
        regle = _regle(serie)
        parties = _analyser(serie.rrule)
        if "COUNT" not in parties and "UNTIL" not in parties:
            return None
        if "UNTIL" in parties:
            # UNTIL très lointain (an 9999…) : traité comme infini plutôt que tout dérouler.
            until = _until_local(parties["UNTIL"][0], zone_de(serie.fuseau))
            if until - serie.debut.astimezone(zone_de(serie.fuseau)).replace(tzinfo=None) > HORIZON_FIN:
                return None
        duree = _duree(serie)
        exclues = {_cle_instant(serie, d) for d in serie.exdates}
        remplacees = {_cle_instant(serie, r.recurrence_id) for r in serie.remplacements}
        for mural in reversed(list(regle)):
            o_debut, o_fin = _occurrence_originale(serie, mural, duree)
            cle = _cle_instant(serie, o_debut)
            if cle not in exclues and cle not in remplacees:
                fins.append(o_fin)
                break
        for remplacement in serie.remplacements:
            if not remplacement.annulee:
                if remplacement.fin is not None:
                    fins.append(remplacement.fin)
                else:
                    base = remplacement.debut or remplacement.recurrence_id
                    fins.append(ajouter(base, ecart(serie.debut, serie.fin)))
    return max(fins)
