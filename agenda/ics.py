"""Fichiers iCalendar (RFC 5545) de l'agenda : lecture, occupations (libre/occupé), écriture d'un
flux (ADR 0023). Module pur : octets en entrée, dataclasses en sortie, aucun accès à la base.

- Lecture par icalendar ; X-WR-TIMEZONE (Google Agenda) appliqué par le paquet `x-wr-timezone`.
- Horaire « flottant » (sans TZID) : lu dans `fuseau_par_defaut`. TZID Windows (« GMT Standard
  Time ») : ramené au fuseau IANA par la table d'icalendar ; fuseau propre au fichier et inconnu
  d'IANA : l'instant est gardé, exprimé dans `fuseau_par_defaut`, avec un avertissement.
- DTEND avant DTSTART : **début et fin échangés**, avec un avertissement (les deux horaires
  viennent du logiciel d'origine ; l'erreur courante est l'inversion, pas une saisie absurde).
- DTEND absent : DURATION si elle est donnée, sinon RFC 5545 : un jour pour une date seule,
  **durée nulle** pour une date-heure (un point dans le temps, qui n'occupe aucun créneau).
- Ce qui est ignoré (VTODO, composant illisible, événement sans DTSTART…) l'est avec un
  avertissement en français ; un fichier illisible lève `ErreurIcs`.
- Les occupations déplient les séries par `recurrence.deplier` : une seule logique de récurrence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import icalendar
import x_wr_timezone
from django.core.exceptions import ValidationError
from icalendar.prop import vRecur
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from agenda.disponibilites import fusionner
from agenda.intervalles import Intervalle
from agenda.recurrence import (
    Remplacement,
    Serie,
    ajouter,
    deplier,
    normaliser_rrule,
    rattacher,
    zone_de,
)

PRODID = "-//Portail de coordination//agenda//FR"
TYPES_OCCUPES = {"BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"}
STATUTS = {"CONFIRMED", "TENTATIVE", "CANCELLED"}


class ErreurIcs(ValidationError):
    """Fichier iCalendar illisible (message en français)."""


@dataclass(frozen=True)
class EvenementIcs:
    uid: str
    titre: str
    debut: datetime
    fin: datetime
    journee_entiere: bool = False
    fuseau: str = "Europe/Paris"
    rrule: str = ""
    exdates: tuple[datetime, ...] = ()
    recurrence_id: datetime | None = None
    statut: str = "CONFIRMED"
    transparent: bool = False
    description: str = ""
    lieu: str = ""
    sequence: int = 0
    derniere_modification: datetime | None = None
    participants: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class CalendrierIcs:
    evenements: tuple[EvenementIcs, ...]
    libres_occupes: tuple[Intervalle, ...]
    avertissements: tuple[str, ...]


# --- Lecture -----------------------------------------------------------------------------------


def _decoder(contenu: bytes | str, taille_max: int) -> bytes:
    if isinstance(contenu, str):
        contenu = contenu.encode("utf-8")
    if not isinstance(contenu, bytes | bytearray):
        raise ErreurIcs("Le calendrier doit être un fichier texte iCalendar.")
    if len(contenu) > taille_max:
        raise ErreurIcs(
            f"Le fichier de calendrier est trop gros ({len(contenu) // 1000} ko ; "
            f"au plus {taille_max // 1000} ko)."
        )
    if b"\x00" in contenu[:4096]:
        raise ErreurIcs("Ce fichier n'est pas un calendrier iCalendar (contenu binaire).")
    debut = contenu.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper()
    if not debut.startswith(b"BEGIN:VCALENDAR"):
        raise ErreurIcs("Ce fichier n'est pas un calendrier iCalendar (BEGIN:VCALENDAR absent).")
    try:
        contenu.decode("utf-8")
    except UnicodeDecodeError:
        contenu = contenu.decode("latin-1").encode("utf-8")
    return bytes(contenu)


def _nom_de_zone(tz, defaut: str) -> str | None:
    """Nom IANA d'un tzinfo lu par icalendar, ou None s'il n'en a pas."""
    cle = getattr(tz, "key", None)
    if cle and cle != "UTC":
        return cle
    if cle == "UTC" or tz is UTC:
        return "UTC"
    nom = getattr(tz, "_tzid", None) or getattr(tz, "zone", None) or str(tz)
    nom = str(nom).strip("'\"")
    if nom in WINDOWS_TO_OLSON:
        return WINDOWS_TO_OLSON[nom]
    try:
        return zone_de(nom).key
    except ValidationError:
        return None


class _Lecteur:
    def __init__(self, fuseau_par_defaut: str) -> None:
        self.defaut = fuseau_par_defaut
        self.zone_defaut = zone_de(fuseau_par_defaut)
        self.avertissements: list[str] = []

    def instant(self, valeur, composant: str) -> tuple[datetime, bool, str]:
        """(instant avec fuseau, journée entière, nom du fuseau)."""
        if isinstance(valeur, datetime):
            if valeur.tzinfo is None:
                return rattacher(valeur, self.zone_defaut), False, self.defaut
            nom = _nom_de_zone(valeur.tzinfo, self.defaut)
            if nom is None:
                self.avertissements.append(
                    f"{composant} : fuseau « {valeur.tzinfo} » inconnu, horaire exprimé en {self.defaut}."
                )
                return valeur.astimezone(self.zone_defaut), False, self.defaut
            zone = zone_de(nom)
            if getattr(valeur.tzinfo, "key", None) is None:
                valeur = rattacher(valeur.replace(tzinfo=None), zone)
            return valeur.astimezone(zone), False, nom
        if isinstance(valeur, date):
            return datetime.combine(valeur, time(), self.zone_defaut), True, self.defaut
        raise ValueError("horaire illisible")

    def liste_dates(self, prop, composant: str) -> tuple[datetime, ...]:
        if prop is None:
            return ()
        proprietes = prop if isinstance(prop, list) else [prop]
        resultat = []
        for p in proprietes:
            for v in getattr(p, "dts", []):
                resultat.append(self.instant(v.dt, composant)[0])
        return tuple(resultat)

    def evenement(self, composant) -> EvenementIcs | None:
        uid = str(composant.get("UID", "")).strip()
        nom = f"Événement « {uid or 'sans UID'} »"
        if composant.get("DTSTART") is None:
            self.avertissements.append(f"{nom} ignoré : pas de début (DTSTART).")
            return None
        try:
            debut, journee, fuseau = self.instant(composant["DTSTART"].dt, nom)
            if composant.get("DTEND") is not None:
                fin = self.instant(composant["DTEND"].dt, nom)[0]
                if journee and not isinstance(composant["DTEND"].dt, datetime):
                    fin = datetime.combine(composant["DTEND"].dt, time(), zone_de(fuseau))
            elif composant.get("DURATION") is not None:
                duree = composant["DURATION"].dt
                if journee:
                    fin = rattacher(debut.replace(tzinfo=None) + duree, zone_de(fuseau))
                else:
                    fin = ajouter(debut, duree)
            else:
                fin = (
                    rattacher(debut.replace(tzinfo=None) + timedelta(days=1), zone_de(fuseau))
                    if journee
                    else debut
                )
            if fin < debut:
                self.avertissements.append(f"{nom} : fin avant le début, les deux ont été échangés.")
                debut, fin = fin, debut
            rrule = ""
            if composant.get("RRULE") is not None:
                brute = composant["RRULE"]
                brute = brute[0] if isinstance(brute, list) else brute
                texte = brute.to_ical().decode() if isinstance(brute, vRecur) else str(brute)
                rrule = "".join(texte.replace("\\", "").split())
                # Règle trop fine, trop longue ou illisible : l'événement est écarté (avertissement).
                rrule = normaliser_rrule(rrule, debut)
            recurrence_id = None
            if composant.get("RECURRENCE-ID") is not None:
                recurrence_id = self.instant(composant["RECURRENCE-ID"].dt, nom)[0]
            statut = str(composant.get("STATUS", "CONFIRMED")).upper()
            if statut not in STATUTS:
                statut = "CONFIRMED"
            participants = []
            brutes = composant.get("ATTENDEE") or []
            for p in brutes if isinstance(brutes, list) else [brutes]:
                participants.append(
                    (
                        str(p),
                        str(p.params.get("CN", "")),
                        str(p.params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
                    )
                )
            modif = composant.get("LAST-MODIFIED")
            return EvenementIcs(
                uid=uid,
                titre=str(composant.get("SUMMARY", "")),
                debut=debut,
                fin=fin,
                journee_entiere=journee,
                fuseau=fuseau,
                rrule=rrule,
                exdates=self.liste_dates(composant.get("EXDATE"), nom),
                recurrence_id=recurrence_id,
                statut=statut,
                transparent=str(composant.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT",
                description=str(composant.get("DESCRIPTION", "")),
                lieu=str(composant.get("LOCATION", "")),
                sequence=int(composant.get("SEQUENCE", 0) or 0),
                derniere_modification=self.instant(modif.dt, nom)[0] if modif is not None else None,
                participants=tuple(participants),
            )
        except ValidationError as exc:
            self.avertissements.append(f"{nom} ignoré : {exc.messages[0]}")
            return None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            self.avertissements.append(f"{nom} ignoré : illisible ({exc}).")
            return None

    def libres_occupes(self, composant) -> list[Intervalle]:
        resultat = []
        brutes = composant.get("FREEBUSY") or []
        for prop in brutes if isinstance(brutes, list) else [brutes]:
            type_ = str(prop.params.get("FBTYPE", "BUSY")).upper()
            if type_ not in TYPES_OCCUPES:
                continue
            periodes = getattr(prop, "dt", None)
            periodes = [periodes] if isinstance(periodes, tuple) else (periodes or [])
            for periode in periodes:
                p_debut, p_fin = periode[0], periode[1]
                p_debut = self.instant(p_debut, "Période libre/occupé")[0]
                if isinstance(p_fin, timedelta):
                    p_fin = p_debut + p_fin
                else:
                    p_fin = self.instant(p_fin, "Période libre/occupé")[0]
                if p_fin > p_debut:
                    resultat.append(Intervalle(p_debut, p_fin))
        return resultat


def lire_calendrier(
    contenu: bytes | str, *, fuseau_par_defaut: str = "Europe/Paris", taille_max: int = 5_000_000
) -> CalendrierIcs:
    """Lit un fichier iCalendar : événements (séries et remplacements, tels que dans le
    fichier), périodes occupées (VFREEBUSY) et avertissements. `ErreurIcs` si illisible."""
    octets = _decoder(contenu, taille_max)
    try:
        calendrier = icalendar.Calendar.from_ical(octets)
        calendrier = x_wr_timezone.to_standard(calendrier)
    except Exception:
        raise ErreurIcs("Le fichier de calendrier est illisible (iCalendar mal formé).") from None
    lecteur = _Lecteur(fuseau_par_defaut)
    evenements: list[EvenementIcs] = []
    libres_occupes: list[Intervalle] = []
    ignores: dict[str, int] = defaultdict(int)
    for composant in calendrier.subcomponents:
        if composant.name == "VEVENT":
            evenement = lecteur.evenement(composant)
            if evenement is not None:
                evenements.append(evenement)
        elif composant.name == "VFREEBUSY":
            libres_occupes.extend(lecteur.libres_occupes(composant))
        elif composant.name != "VTIMEZONE":
            ignores[composant.name] += 1
    for nom, nombre in sorted(ignores.items()):
        lecteur.avertissements.append(
            f"{nombre} composant(s) {nom} ignoré(s) (seuls les VEVENT et VFREEBUSY sont lus)."
        )
    avertissements = tuple(dict.fromkeys(lecteur.avertissements))  # sans doublons, dans l'ordre
    return CalendrierIcs(tuple(evenements), tuple(libres_occupes), avertissements)


# --- Occupations -------------------------------------------------------------------------------


def serie_de(evenement: EvenementIcs, remplacements: Iterable[EvenementIcs] = ()) -> Serie:
    """La série de `recurrence` d'un événement maître et de ses remplacements (même UID).
    Un remplacement annulé ou transparent devient une occurrence annulée."""
    return Serie(
        debut=evenement.debut,
        fin=evenement.fin,
        fuseau=evenement.fuseau,
        journee_entiere=evenement.journee_entiere,
        rrule=evenement.rrule,
        exdates=evenement.exdates,
        remplacements=tuple(
            Remplacement(
                recurrence_id=r.recurrence_id,
                debut=r.debut,
                fin=r.fin,
                annulee=r.statut == "CANCELLED",
                cle=f"{r.uid}|{r.recurrence_id.astimezone(UTC).isoformat()}",
            )
            for r in remplacements
            if r.recurrence_id is not None
        ),
    )


def _bloque(evenement: EvenementIcs) -> bool:
    return evenement.statut != "CANCELLED" and not evenement.transparent


def occupations(calendrier: CalendrierIcs, debut: datetime, fin: datetime) -> list[Intervalle]:
    """Le temps occupé dans [debut, fin) : séries dépliées (remplacements appliqués), événements
    annulés ou transparents écartés, périodes VFREEBUSY ajoutées ; trié et fusionné."""
    fenetre = Intervalle(debut, fin)
    maitres: dict[str, EvenementIcs] = {}
    remplacements: dict[str, list[EvenementIcs]] = defaultdict(list)
    for evenement in calendrier.evenements:
        if evenement.recurrence_id is None:
            maitres[evenement.uid] = evenement
        else:
            remplacements[evenement.uid].append(evenement)
    morceaux: list[Intervalle] = []

    def ajouter(o_debut: datetime, o_fin: datetime) -> None:
        o_debut, o_fin = max(o_debut, debut), min(o_fin, fin)
        if o_fin > o_debut:
            morceaux.append(Intervalle(o_debut, o_fin))

    for uid, maitre in maitres.items():
        if maitre.statut == "CANCELLED":
            continue
        propres = remplacements.get(uid, [])
        serie = serie_de(maitre, propres)
        transparents = {r.recurrence_id.astimezone(UTC) for r in propres if not _bloque(r)}
        for occurrence in deplier(serie, debut, fin, limite=100_000):
            est_remplacee = occurrence.cle != ""
            if est_remplacee:
                if occurrence.recurrence_id.astimezone(UTC) in transparents:
                    continue
            elif maitre.transparent:
                continue
            ajouter(occurrence.debut, occurrence.fin)
    for uid, propres in remplacements.items():
        if uid in maitres:
            continue
        for orphelin in propres:  # remplacement dont la série est absente : un événement seul
            if _bloque(orphelin):
                ajouter(orphelin.debut, orphelin.fin)
    for periode in calendrier.libres_occupes:
        if periode.chevauche(fenetre):
            ajouter(periode.debut, periode.fin)
    return fusionner(morceaux)


# --- Écriture ----------------------------------------------------------------------------------
#
# Le flux est écrit ligne à ligne (échappement RFC 5545 §3.3.11, pliage à 75 octets §3.1) : la
# sérialisation par objets d'icalendar coûte ~0,26 s pour 1 000 événements, cinq fois l'objectif
# de l'issue 6. icalendar reste la référence : il produit les VTIMEZONE (mis en cache par fuseau),
# relit tout ce qui est écrit, et `_ecrire_avec_icalendar` sert de témoin dans les tests.


def _echapper(texte: str) -> str:
    return (
        texte.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _parametre(valeur: str) -> str:
    valeur = valeur.replace('"', "'")
    return f'"{valeur}"' if any(c in valeur for c in ":;,") else valeur


def _plier(ligne: str) -> str:
    octets = ligne.encode("utf-8")
    if len(octets) <= 75:
        return ligne + "\r\n"
    morceaux, courant, taille, limite = [], [], 0, 75
    for caractere in ligne:
        n = len(caractere.encode("utf-8"))
        if taille + n > limite:
            morceaux.append("".join(courant))
            courant, taille, limite = [], 0, 74  # l'espace de continuation compte
        courant.append(caractere)
        taille += n
    morceaux.append("".join(courant))
    return "\r\n ".join(morceaux) + "\r\n"


def _horaire(nom: str, instants: Iterable[datetime], evenement: EvenementIcs) -> str:
    zone = zone_de(evenement.fuseau)
    locaux = [i.astimezone(zone) for i in instants]
    if evenement.journee_entiere:
        return f"{nom};VALUE=DATE:" + ",".join(f"{d:%Y%m%d}" for d in locaux)
    if evenement.fuseau == "UTC":
        return f"{nom}:" + ",".join(f"{d:%Y%m%dT%H%M%S}Z" for d in locaux)
    return f"{nom};TZID={evenement.fuseau}:" + ",".join(f"{d:%Y%m%dT%H%M%S}" for d in locaux)


@lru_cache(maxsize=32)
def _vtimezone(fuseau: str) -> str:
    return icalendar.Timezone.from_tzid(fuseau).to_ical().decode()


def _lignes_evenement(evenement: EvenementIcs, horodatage: str) -> list[str]:
    lignes = [
        "BEGIN:VEVENT",
        f"UID:{_echapper(evenement.uid)}",
        f"DTSTAMP:{horodatage}",
        f"SUMMARY:{_echapper(evenement.titre)}",
        _horaire("DTSTART", (evenement.debut,), evenement),
        _horaire("DTEND", (evenement.fin,), evenement),
    ]
    if evenement.rrule:
        regle = evenement.rrule.strip()
        lignes.append(f"RRULE:{regle[6:] if regle.upper().startswith('RRULE:') else regle}")
    if evenement.exdates:
        lignes.append(_horaire("EXDATE", evenement.exdates, evenement))
    if evenement.recurrence_id is not None:
        lignes.append(_horaire("RECURRENCE-ID", (evenement.recurrence_id,), evenement))
    lignes += [
        f"SEQUENCE:{int(evenement.sequence)}",
        f"STATUS:{evenement.statut if evenement.statut in STATUTS else 'CONFIRMED'}",
        f"TRANSP:{'TRANSPARENT' if evenement.transparent else 'OPAQUE'}",
    ]
    if evenement.description:
        lignes.append(f"DESCRIPTION:{_echapper(evenement.description)}")
    if evenement.lieu:
        lignes.append(f"LOCATION:{_echapper(evenement.lieu)}")
    if evenement.derniere_modification is not None:
        lignes.append(f"LAST-MODIFIED:{evenement.derniere_modification.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    for adresse, cn, partstat in evenement.participants:
        cn_param = f";CN={_parametre(cn)}" if cn else ""
        lignes.append(f"ATTENDEE{cn_param};PARTSTAT={_parametre(partstat)}:{adresse}")
    lignes.append("END:VEVENT")
    return lignes


def ecrire_calendrier(evenements: Iterable[EvenementIcs], *, nom: str) -> bytes:
    """Un flux iCalendar 2.0 (METHOD:PUBLISH) avec un VTIMEZONE par fuseau utilisé ; relu à
    l'identique par `lire_calendrier`."""
    horodatage = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    corps: list[str] = []
    fuseaux: dict[str, None] = {}
    for evenement in evenements:
        if evenement.fuseau != "UTC":
            fuseaux[zone_de(evenement.fuseau).key] = None
        corps.extend(_lignes_evenement(evenement, horodatage))
    entete = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_echapper(nom)}",
    ]
    morceaux = [_plier(ligne) for ligne in entete]
    morceaux += [_vtimezone(fuseau) for fuseau in fuseaux]
    morceaux += [_plier(ligne) for ligne in corps]
    morceaux.append("END:VCALENDAR\r\n")
    return "".join(morceaux).encode("utf-8")


def _valeur(instant: datetime, evenement: EvenementIcs):
    local = instant.astimezone(zone_de(evenement.fuseau))
    return local.date() if evenement.journee_entiere else local


def _ecrire_avec_icalendar(evenements: Iterable[EvenementIcs], *, nom: str) -> bytes:
    """Le même flux, construit objet par objet par icalendar : témoin des tests (plus lent)."""
    calendrier = icalendar.Calendar()
    calendrier.add("PRODID", PRODID)
    calendrier.add("VERSION", "2.0")
    calendrier.add("CALSCALE", "GREGORIAN")
    calendrier.add("METHOD", "PUBLISH")
    calendrier.add("X-WR-CALNAME", nom)
    maintenant = datetime.now(UTC).replace(microsecond=0)
    for evenement in evenements:
        e = icalendar.Event()
        e.add("UID", evenement.uid)
        e.add("DTSTAMP", maintenant)
        e.add("SUMMARY", evenement.titre)
        e.add("DTSTART", _valeur(evenement.debut, evenement))
        e.add("DTEND", _valeur(evenement.fin, evenement))
        if evenement.rrule:
            e.add("RRULE", vRecur.from_ical(evenement.rrule))
        if evenement.exdates:
            e.add("EXDATE", [_valeur(d, evenement) for d in evenement.exdates])
        if evenement.recurrence_id is not None:
            e.add("RECURRENCE-ID", _valeur(evenement.recurrence_id, evenement))
        e.add("SEQUENCE", evenement.sequence)
        e.add("STATUS", evenement.statut)
        e.add("TRANSP", "TRANSPARENT" if evenement.transparent else "OPAQUE")
        if evenement.description:
            e.add("DESCRIPTION", evenement.description)
        if evenement.lieu:
            e.add("LOCATION", evenement.lieu)
        if evenement.derniere_modification is not None:
            e.add("LAST-MODIFIED", evenement.derniere_modification.astimezone(UTC))
        for adresse, cn, partstat in evenement.participants:
            parametres = {"PARTSTAT": partstat}
            if cn:
                parametres["CN"] = cn
            e.add("ATTENDEE", adresse, parameters=parametres)
        calendrier.add_component(e)
    calendrier.add_missing_timezones()
    return calendrier.to_ical()


__all__ = [
    "CalendrierIcs",
    "ErreurIcs",
    "EvenementIcs",
    "ecrire_calendrier",
    "evenements_ics",
    "fusionner",
    "lire_calendrier",
    "occupations",
    "serie_de",
    "uid_evenement",
]


# --- Depuis les événements du portail -------------------------------------------------------------

STATUTS_DU_PORTAIL = {"proposed": "TENTATIVE", "pending": "TENTATIVE", "cancelled": "CANCELLED"}


def uid_evenement(evenement) -> str:
    """L'UID iCalendar d'un événement du portail (le même dans les flux et en CalDAV)."""
    return f"{evenement.uuid}@portail-coordination"


def _depuis_le_portail(evenement, source, *, masque: bool, **champs) -> EvenementIcs:
    """Une entrée iCalendar d'une série (`source` = la série) ou d'une de ses séances remplacées."""
    adresses = [" ".join(filter(None, (lieu.get("libelle"), lieu.get("adresse")))) for lieu in source.lieux]
    visios = [f"Visio : {lieu['visio']}" for lieu in source.lieux if lieu.get("visio")]
    return EvenementIcs(
        uid=uid_evenement(evenement),
        titre="Occupé" if masque else source.titre,
        debut=source.debut,
        fin=source.fin,
        journee_entiere=evenement.journee_entiere,
        fuseau=evenement.fuseau,
        statut=STATUTS_DU_PORTAIL.get(source.statut, "CONFIRMED"),
        description="" if masque else "\n".join(filter(None, [source.motif, *visios])),
        lieu="" if masque else " ; ".join(a for a in adresses if a),
        sequence=evenement.sequence,
        derniere_modification=source.modifie_le,
        **champs,
    )


def evenements_ics(
    evenements: Iterable, *, masquer: Callable[[object], bool] = lambda e: False
) -> list[EvenementIcs]:
    """Les événements du portail (`agenda.models.Evenement`, séances remplacées préchargées dans
    `remplacements_precharges`) en `EvenementIcs` : la série avec sa RRULE et ses EXDATE, puis une
    entrée par séance remplacée (RECURRENCE-ID). `masquer(e)` : seulement « Occupé »."""
    resultat = []
    for evenement in evenements:
        masque = masquer(evenement)
        resultat.append(
            _depuis_le_portail(
                evenement, evenement, masque=masque, rrule=evenement.rrule, exdates=tuple(evenement.exdates)
            )
        )
        for remplacement in getattr(evenement, "remplacements_precharges", ()):
            resultat.append(
                _depuis_le_portail(
                    evenement, remplacement, masque=masque, recurrence_id=remplacement.recurrence_id
                )
            )
    return resultat
