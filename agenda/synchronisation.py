"""Synchronisation bidirectionnelle avec le calendrier CalDAV d'un professionnel (ADR 0024).

`planifier` est pur (ni base ni réseau) : à partir des événements du portail à publier, de ce
dont on se souvient (`Lien`, un par UID synchronisé) et des changements lus sur le serveur, il
dit quoi faire. `synchroniser` exécute ce plan avec l'adaptateur `CalendrierDistant` ; la
tâche Celery n'a plus qu'à charger les liens et le jeton, puis à enregistrer ce qu'il rend.

Règles :
- Un événement du portail (`origine="portail"`) a sa vérité au portail : une modification faite
  là-bas est écrasée au prochain envoi et signalée comme conflit ; une suppression faite là-bas
  le fait recréer (conflit signalé aussi) tant qu'il existe et n'est pas annulé au portail.
- Un événement annulé ou retiré au portail est supprimé là-bas (DELETE), pas envoyé avec
  STATUS:CANCELLED : une seule ressource par UID, jamais de doublon.
- Un événement créé là-bas (`origine="distant"`) y a sa vérité : il devient une occupation au
  portail, mise à jour sur place par son UID ; annulé (STATUS:CANCELLED), transparent
  (TRANSP:TRANSPARENT) ou supprimé là-bas, l'occupation est retirée.
- Nos propres envois renvoyés par le jeton de synchronisation sont reconnus à leur ETag et ne
  sont jamais réimportés.
- Une liste complète (`complet=True`) réconcilie tout : ce que l'on connaît et qui n'y figure
  pas est traité comme supprimé là-bas.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import icalendar
from django.core.exceptions import ValidationError

from coordination.echanges.caldav import CalendrierDistant, Changements, ElementDistant, ErreurCalDAV

PORTAIL = "portail"
DISTANT = "distant"


@dataclass(frozen=True)
class Lien:
    """Ce que l'on retient d'un événement synchronisé (une ligne de table côté intégration)."""

    uid: str
    href: str
    etag: str
    origine: str  # PORTAIL (nous l'avons envoyé) ou DISTANT (il vient de là-bas)
    version_locale: int = 0  # notre SEQUENCE/version au dernier envoi (0 pour un événement distant)

    def __post_init__(self) -> None:
        if self.origine not in (PORTAIL, DISTANT):
            raise ValidationError(f"Origine de lien inconnue : « {self.origine} » (portail ou distant).")


@dataclass(frozen=True)
class Local:
    """Un événement du portail qui doit figurer sur le calendrier distant."""

    uid: str
    version: int
    ics: bytes
    annule: bool = False


@dataclass(frozen=True)
class Envoi:
    """Un événement du portail à écrire là-bas ; `etag` None : création, sinon mise à jour."""

    local: Local
    etag: str | None


@dataclass(frozen=True)
class Plan:
    a_envoyer: tuple[Envoi, ...] = ()
    a_supprimer_la_bas: tuple[Lien, ...] = ()
    occupations_a_importer: tuple[ElementDistant, ...] = ()  # nouvelles ou modifiées là-bas
    occupations_a_retirer: tuple[str, ...] = ()  # UID d'événements distants supprimés/annulés
    liens_a_oublier: tuple[str, ...] = ()  # UID
    conflits: tuple[str, ...] = ()  # explications en français

    @property
    def vide(self) -> bool:
        """Vrai quand il n'y a rien à faire ni à signaler."""
        return not any(getattr(self, champ.name) for champ in dataclasses.fields(self))


def _ne_bloque_pas(ics: bytes) -> bool:
    """Un événement annulé ou marqué « disponible » (transparent) n'occupe pas le professionnel."""
    try:
        calendrier = icalendar.Calendar.from_ical(ics)
    except ValueError:
        return False
    evenements = [c for c in calendrier.walk("VEVENT") if "RECURRENCE-ID" not in c]
    if not evenements:
        return False
    maitre = evenements[0]
    statut = str(maitre.get("STATUS", "")).upper()
    transparence = str(maitre.get("TRANSP", "")).upper()
    return statut == "CANCELLED" or transparence == "TRANSPARENT"


def _unique(uids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(uids))


def planifier(locaux: Iterable[Local], liens: Iterable[Lien], changements: Changements) -> Plan:
    """Ce qu'il faut faire pour que les deux côtés concordent, sans rien exécuter."""
    locaux_par_uid: dict[str, Local] = {}
    for local in locaux:
        if local.uid in locaux_par_uid:
            raise ValidationError(f"Deux événements du portail portent le même UID « {local.uid} ».")
        locaux_par_uid[local.uid] = local
    liens_par_uid = {lien.uid: lien for lien in liens}
    liens_par_href = {lien.href: lien for lien in liens_par_uid.values()}

    envois: dict[str, Envoi] = {}
    a_supprimer: dict[str, Lien] = {}
    a_importer: dict[str, ElementDistant] = {}
    a_retirer: list[str] = []
    a_oublier: list[str] = []
    conflits: list[str] = []
    disparus_la_bas: set[str] = set()  # UID d'événements du portail absents là-bas
    modifies_la_bas: dict[str, str] = {}  # UID d'événements du portail → nouvel ETag distant
    repris: dict[str, Lien] = {}  # événements du portail trouvés là-bas sans lien (lien perdu)

    def disparu(lien: Lien) -> None:
        if lien.origine == DISTANT:
            a_retirer.append(lien.uid)
            a_oublier.append(lien.uid)
        else:
            disparus_la_bas.add(lien.uid)

    # 1. Ce qui a changé là-bas.
    vus: set[str] = set()
    for element in changements.modifies:
        vus.add(element.href)
        lien = liens_par_href.get(element.href) or liens_par_uid.get(element.uid)
        if lien is not None and lien.uid != element.uid:
            # Même adresse, autre UID : l'ancien événement a disparu, un autre l'a remplacé.
            disparu(lien)
            lien = liens_par_uid.get(element.uid)
        if lien is None and element.uid in locaux_par_uid:
            # Un événement du portail dont on avait perdu le lien : on le reprend à notre compte.
            repris[element.uid] = Lien(element.uid, element.href, element.etag, PORTAIL, -1)
            continue
        if lien is None or lien.origine == DISTANT:
            if lien is not None and lien.etag == element.etag:
                continue  # inchangé
            if _ne_bloque_pas(element.ics):
                if lien is not None:
                    a_retirer.append(element.uid)
                    a_oublier.append(element.uid)
            else:
                a_importer[element.uid] = element
            continue
        if lien.etag != element.etag:
            modifies_la_bas[lien.uid] = element.etag  # sinon : l'écho de notre propre envoi

    supprimes = set(changements.supprimes)
    if changements.complet:
        supprimes |= {href for href in liens_par_href if href not in vus}
    for href in sorted(supprimes):
        lien = liens_par_href.get(href)
        if lien is not None and href not in vus:
            disparu(lien)

    # 2. Ce que le portail veut voir là-bas.
    for uid, local in locaux_par_uid.items():
        lien = liens_par_uid.get(uid)
        if lien is not None and lien.origine == DISTANT:
            conflits.append(f"« {uid} » vient du calendrier distant : le portail ne le publie pas en retour.")
            continue
        if lien is None:
            lien = repris.get(uid)
        if local.annule:
            if lien is not None and uid in disparus_la_bas:
                a_oublier.append(uid)
            elif lien is not None:
                a_supprimer[uid] = lien
            continue
        if lien is None:
            envois[uid] = Envoi(local, None)
        elif uid in disparus_la_bas:
            conflits.append(f"« {uid} » a été supprimé sur le calendrier distant : le portail le recrée.")
            envois[uid] = Envoi(local, None)
        elif uid in repris:
            envois[uid] = Envoi(local, lien.etag)
        elif uid in modifies_la_bas:
            conflits.append(
                f"« {uid} » a été modifié sur le calendrier distant : la version du portail le remplace."
            )
            envois[uid] = Envoi(local, modifies_la_bas[uid])
        elif local.version > lien.version_locale:
            envois[uid] = Envoi(local, lien.etag)

    # 3. Ce que le portail a publié et ne publie plus : retiré là-bas.
    for uid, lien in liens_par_uid.items():
        if lien.origine == PORTAIL and uid not in locaux_par_uid:
            if uid in disparus_la_bas:
                a_oublier.append(uid)
            else:
                a_supprimer[uid] = lien

    return Plan(
        a_envoyer=tuple(envois.values()),
        a_supprimer_la_bas=tuple(a_supprimer.values()),
        occupations_a_importer=tuple(a_importer.values()),
        occupations_a_retirer=_unique(a_retirer),
        liens_a_oublier=_unique(a_oublier),
        conflits=tuple(conflits),
    )


def synchroniser(
    calendrier: CalendrierDistant, locaux: Iterable[Local], liens: Iterable[Lien], jeton: str | None
) -> tuple[Plan, tuple[Lien, ...], str]:
    """Lit les changements, planifie, exécute ; rend (plan, liens à garder, jeton à garder).

    Une `ErreurCalDAV` de lecture remonte telle quelle (rien n'a été écrit : la tâche réessaiera).
    Un échec sur un seul événement (modifié entre-temps…) devient un conflit du plan et laisse son
    lien inchangé : le prochain passage le reprendra.
    """
    liens = tuple(liens)
    changements = calendrier.changements(jeton)
    plan = planifier(locaux, liens, changements)
    gardes = {lien.uid: lien for lien in liens}
    conflits = list(plan.conflits)

    for uid in plan.liens_a_oublier:
        gardes.pop(uid, None)
    for element in plan.occupations_a_importer:
        gardes[element.uid] = Lien(element.uid, element.href, element.etag, DISTANT, 0)
    for lien in plan.a_supprimer_la_bas:
        try:
            calendrier.supprimer(lien.href)
        except ErreurCalDAV as exc:
            if exc.code in ("authentification", "injoignable", "delai"):
                raise
            conflits.append(f"« {lien.uid} » : {exc.message}")
            continue
        gardes.pop(lien.uid, None)
    for envoi in plan.a_envoyer:
        local = envoi.local
        try:
            try:
                ecrit = calendrier.ecrire(local.uid, local.ics, etag=envoi.etag)
            except ErreurCalDAV as exc:
                if exc.code != "conflit" or envoi.etag is not None:
                    raise
                # Création refusée : la ressource existe déjà à notre adresse (lien perdu) ;
                # le portail fait foi, on la remplace à son ETag actuel.
                present = calendrier.lire(calendrier.href_pour(local.uid))
                if present is None or present.uid != local.uid:
                    raise
                ecrit = calendrier.ecrire(local.uid, local.ics, etag=present.etag)
        except ErreurCalDAV as exc:
            if exc.code in ("authentification", "injoignable", "delai"):
                raise
            conflits.append(f"« {local.uid} » : {exc.message}")
            continue
        gardes[local.uid] = Lien(local.uid, ecrit.href, ecrit.etag, PORTAIL, local.version)

    if conflits != list(plan.conflits):
        plan = dataclasses.replace(plan, conflits=tuple(conflits))
    nouveaux_liens = tuple(sorted(gardes.values(), key=lambda lien: lien.uid))
    return plan, nouveaux_liens, changements.jeton
