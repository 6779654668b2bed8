"""Adaptateur CalDAV : le calendrier qu'un professionnel a choisi, vu du portail (ADR 0024).

Repose sur la bibliothèque `caldav` 1.x (transport `requests`) pour l'authentification et les
requêtes WebDAV ; ce module n'ajoute que ce dont la synchronisation a besoin :

- `changements(jeton)` : le rapport `sync-collection` (RFC 6578) avec ETag et corps iCalendar
  en une requête ; un jeton périmé ou inconnu du serveur donne la liste complète (`complet=True`) ;
- `ecrire(uid, ics, etag=…)` : création (`If-None-Match: *`) à une adresse stable tirée de l'UID,
  ou mise à jour (`If-Match: etag`) ; jamais deux ressources pour le même UID ;
- `supprimer(href, etag=…)` : une ressource déjà disparue (404) n'est pas une erreur.

Toute défaillance devient une `ErreurCalDAV` au message français (authentification refusée,
serveur injoignable, délai dépassé, calendrier introuvable, modification concurrente…). Les
identifiants ne figurent jamais dans une URL ni dans un journal ; un délai est toujours fixé.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

import icalendar
import requests
from caldav.davclient import DAVClient
from caldav.lib import error as erreurs_caldav
from lxml import etree

logger = logging.getLogger(__name__)

_DAV = "{DAV:}"
_CALDAV = "{urn:ietf:params:xml:ns:caldav}"
_UID_LISIBLE = re.compile(r"[A-Za-z0-9_.@-]{1,120}")


@dataclass(frozen=True)
class ElementDistant:
    """Une ressource du calendrier distant : son adresse (chemin), son ETag, l'UID et le corps."""

    href: str
    etag: str
    uid: str
    ics: bytes


@dataclass(frozen=True)
class Changements:
    jeton: str  # jeton de synchronisation à garder pour la fois suivante
    modifies: tuple[ElementDistant, ...]
    supprimes: tuple[str, ...]  # chemins des ressources retirées sur le serveur
    complet: bool  # vrai quand le serveur a tout renvoyé (pas de jeton, ou jeton refusé)


class ErreurCalDAV(Exception):
    """Échec d'un échange avec le serveur d'agenda ; `message` est en français, `code` est stable
    (`authentification`, `injoignable`, `delai`, `introuvable`, `conflit`, `refus`, `contenu`)."""

    def __init__(self, message: str, *, code: str = "refus", statut: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.statut = statut


def _chemin(href: str) -> str:
    """Forme canonique d'une adresse de ressource : le chemin seul, encodé d'une seule façon."""
    return quote(unquote(urlsplit(href).path), safe="/@:")


def uid_de(ics: bytes) -> str | None:
    """L'UID du premier VEVENT (ou de tout composant qui en porte un) ; None si illisible."""
    try:
        calendrier = icalendar.Calendar.from_ical(ics)
    except ValueError:
        return None
    for composant in calendrier.walk():
        if composant.name in ("VEVENT", "VTODO", "VJOURNAL") and composant.get("UID"):
            return str(composant["UID"])
    return None


class CalendrierDistant:
    """Une collection CalDAV (l'URL du calendrier lui-même, pas celle du compte)."""

    def __init__(self, url: str, utilisateur: str, mot_de_passe: str, *, delai: float = 10.0) -> None:
        morceaux = urlsplit(url)
        if morceaux.scheme not in ("http", "https") or not morceaux.hostname:
            raise ErreurCalDAV(
                "L'adresse du calendrier doit commencer par https:// (ou http://).", code="contenu"
            )
        if morceaux.username or morceaux.password:
            raise ErreurCalDAV(
                "L'adresse du calendrier ne doit pas contenir d'identifiant ni de mot de passe : "
                "renseignez-les dans les champs prévus.",
                code="contenu",
            )
        if not delai or delai <= 0:
            raise ErreurCalDAV("Le délai d'attente du serveur d'agenda doit être positif.", code="contenu")
        chemin = morceaux.path if morceaux.path.endswith("/") else morceaux.path + "/"
        self.url = urlunsplit((morceaux.scheme, morceaux.netloc, chemin, "", ""))
        self.delai = delai
        self._client = DAVClient(url=self.url, username=utilisateur, password=mot_de_passe, timeout=delai)

    def __repr__(self) -> str:  # jamais le mot de passe
        return f"CalendrierDistant({self.url!r})"

    # -- Transport -----------------------------------------------------------------------------

    def _requete(self, methode: str, href: str, corps: bytes | str = "", entetes: dict | None = None):
        url = urljoin(self.url, href)
        try:
            reponse = self._client.request(url, methode, corps, entetes or {})
        except erreurs_caldav.AuthorizationError as exc:
            raise ErreurCalDAV(
                "Le serveur d'agenda a refusé l'accès (authentification refusée) : vérifiez l'identifiant, "
                "le mot de passe et l'adresse du calendrier.",
                code="authentification",
            ) from exc
        except requests.Timeout as exc:
            raise ErreurCalDAV(
                f"Le serveur d'agenda n'a pas répondu dans le délai de {self.delai:g} s.", code="delai"
            ) from exc
        except requests.ConnectionError as exc:
            raise ErreurCalDAV(
                "Le serveur d'agenda est injoignable : vérifiez l'adresse, ou réessayez plus tard.",
                code="injoignable",
            ) from exc
        except (requests.RequestException, erreurs_caldav.DAVError, etree.XMLSyntaxError) as exc:
            logger.warning("Échange CalDAV en échec (%s %s) : %s", methode, _chemin(url), type(exc).__name__)
            raise ErreurCalDAV("Réponse illisible du serveur d'agenda.", code="refus") from exc
        logger.debug("CalDAV %s %s → %s", methode, _chemin(url), reponse.status)
        return reponse

    def _refus(self, reponse, quoi: str) -> ErreurCalDAV:
        statut = reponse.status
        if statut == 404:
            return ErreurCalDAV(
                "Calendrier introuvable sur le serveur d'agenda : vérifiez son adresse.",
                code="introuvable", statut=statut,
            )  # fmt: skip
        if statut == 412:
            return ErreurCalDAV(
                f"{quoi} : l'événement a été modifié entre-temps sur le serveur d'agenda.",
                code="conflit", statut=statut,
            )  # fmt: skip
        return ErreurCalDAV(
            f"{quoi} : le serveur d'agenda a répondu par une erreur (HTTP {statut}).",
            code="refus",
            statut=statut,
        )

    # -- Lecture -------------------------------------------------------------------------------

    def _rapport_sync(self, jeton: str):
        racine = etree.Element(
            f"{_DAV}sync-collection", nsmap={"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}
        )
        etree.SubElement(racine, f"{_DAV}sync-token").text = jeton
        etree.SubElement(racine, f"{_DAV}sync-level").text = "1"
        prop = etree.SubElement(racine, f"{_DAV}prop")
        etree.SubElement(prop, f"{_DAV}getetag")
        etree.SubElement(prop, f"{_CALDAV}calendar-data")
        corps = etree.tostring(racine, xml_declaration=True, encoding="utf-8")
        entetes = {"Depth": "1", "Content-Type": 'application/xml; charset="utf-8"'}
        return self._requete("REPORT", self.url, corps, entetes)

    def changements(self, jeton: str | None) -> Changements:
        """Ce qui a changé depuis `jeton` (RFC 6578) ; sans jeton, ou jeton refusé : tout."""
        complet = not jeton
        try:
            reponse = self._rapport_sync(jeton or "")
        except ErreurCalDAV as exc:
            # Radicale refuse un jeton inconnu par un 403, que `caldav` présente comme un refus
            # d'authentification : on ne conclut qu'après un essai sans jeton.
            if not jeton or exc.code != "authentification":
                raise
            reponse = None
        if jeton and (reponse is None or reponse.status in (400, 403, 409)):
            # Jeton périmé ou inconnu (précondition DAV:valid-sync-token) : liste complète.
            logger.info("Jeton de synchronisation CalDAV refusé : liste complète.")
            reponse = self._rapport_sync("")
            complet = True
        if reponse.status != 207 or reponse.tree is None:
            raise self._refus(reponse, "Lecture du calendrier impossible")
        return self._lire_multistatus(reponse.tree, complet)

    def _lire_multistatus(self, arbre, complet: bool) -> Changements:
        collection = _chemin(self.url)
        modifies: list[ElementDistant] = []
        supprimes: list[str] = []
        for reponse in arbre.iter(f"{_DAV}response"):
            href_el = reponse.find(f"{_DAV}href")
            if href_el is None or not href_el.text:
                continue
            href = _chemin(urljoin(self.url, href_el.text.strip()))
            if href == collection:
                continue
            statut = reponse.findtext(f"{_DAV}status") or ""
            if " 404 " in statut:
                supprimes.append(href)
                continue
            etag = donnees = None
            for propstat in reponse.iter(f"{_DAV}propstat"):
                if " 200 " not in (propstat.findtext(f"{_DAV}status") or ""):
                    continue
                etag = propstat.findtext(f"{_DAV}prop/{_DAV}getetag") or etag
                donnees = propstat.findtext(f"{_DAV}prop/{_CALDAV}calendar-data") or donnees
            if not etag or not donnees:
                logger.warning("Ressource CalDAV sans ETag ou sans contenu ignorée : %s", href)
                continue
            ics = donnees.encode("utf-8")
            uid = uid_de(ics)
            if uid is None:
                logger.warning("Ressource CalDAV illisible ou sans UID ignorée : %s", href)
                continue
            modifies.append(ElementDistant(href=href, etag=etag, uid=uid, ics=ics))
        jeton = arbre.findtext(f".//{_DAV}sync-token") or ""
        return Changements(jeton=jeton, modifies=tuple(modifies), supprimes=tuple(supprimes), complet=complet)

    def lister(self) -> list[ElementDistant]:
        """Toutes les ressources du calendrier."""
        return list(self.changements(None).modifies)

    def lire(self, href: str) -> ElementDistant | None:
        """Une ressource par son chemin ; None si elle n'existe pas (ou plus)."""
        reponse = self._requete("GET", href, entetes={"Accept": "text/calendar"})
        if reponse.status == 404:
            return None
        if reponse.status != 200:
            raise self._refus(reponse, "Lecture de l'événement impossible")
        ics = reponse._raw if isinstance(reponse._raw, bytes) else str(reponse._raw).encode("utf-8")
        uid = uid_de(ics)
        etag = reponse.headers.get("ETag")
        if uid is None or not etag:
            raise ErreurCalDAV("Événement illisible sur le serveur d'agenda.", code="contenu")
        return ElementDistant(href=_chemin(urljoin(self.url, href)), etag=etag, uid=uid, ics=ics)

    # -- Écriture ------------------------------------------------------------------------------

    def href_pour(self, uid: str) -> str:
        """Adresse stable de la ressource d'un UID : l'UID lui-même s'il est sage, sinon son empreinte."""
        if _UID_LISIBLE.fullmatch(uid) and not uid.startswith("."):
            nom = uid
        else:
            nom = "portail-" + hashlib.sha256(uid.encode("utf-8")).hexdigest()[:40]
        return _chemin(urljoin(self.url, quote(nom, safe="@") + ".ics"))

    def ecrire(self, uid: str, ics: bytes, *, etag: str | None = None) -> ElementDistant:
        """Crée (sans `etag` : `If-None-Match: *`) ou met à jour (`If-Match: etag`) l'événement `uid`."""
        if not uid:
            raise ErreurCalDAV("Un événement sans UID ne peut pas être envoyé.", code="contenu")
        if uid_de(ics) != uid:
            raise ErreurCalDAV(
                f"Le contenu envoyé n'est pas un iCalendar lisible portant l'UID « {uid} ».", code="contenu"
            )
        href = self.href_pour(uid)
        entetes = {"Content-Type": "text/calendar; charset=utf-8"}
        if etag is None:
            entetes["If-None-Match"] = "*"
        else:
            entetes["If-Match"] = etag
        reponse = self._requete("PUT", href, ics, entetes)
        if reponse.status not in (200, 201, 204):
            raise self._refus(reponse, "Envoi de l'événement impossible")
        nouvel_etag = reponse.headers.get("ETag")
        if not nouvel_etag:
            # Serveur qui ne renvoie pas l'ETag à l'écriture : on le relit.
            relu = self.lire(href)
            if relu is None:
                raise ErreurCalDAV("L'événement envoyé est introuvable juste après l'envoi.", code="refus")
            nouvel_etag = relu.etag
        return ElementDistant(href=href, etag=nouvel_etag, uid=uid, ics=ics)

    def supprimer(self, href: str, *, etag: str | None = None) -> None:
        """Supprime la ressource (`If-Match` si `etag`) ; déjà disparue (404) : rien à faire."""
        entetes = {"If-Match": etag} if etag else {}
        reponse = self._requete("DELETE", href, entetes=entetes)
        if reponse.status in (200, 204, 404):
            return
        raise self._refus(reponse, "Suppression de l'événement impossible")
