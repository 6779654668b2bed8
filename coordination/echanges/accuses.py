"""Accusés MSSanté (MDN, RFC 8098) : relevé de la BAL applicative par IMAP STARTTLS (certificat
client, AUTHENTICATE EXTERNAL ; `imaplib`), chaque accusé noté sur le message qu'il concerne
(`AccuseMSSante`, rapproché par Message-ID) et journalisé, puis supprimé de la BAL.

Idempotent : un accusé déjà noté (même Message-ID) ne l'est pas deux fois, même s'il revient. Un
courriel qui n'est pas un accusé, ou qui ne répond à aucun message du portail, reste dans la BAL,
marqué lu (une personne peut le regarder) : il n'est plus relu aux relevés suivants."""

from __future__ import annotations

import email
import email.policy
import hashlib
import imaplib
import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coordination.comptes.acteur import acteur_systeme
from coordination.echanges.models import AccuseMSSante, Destination, Disposition, MessageSortant
from coordination.journal.services import journaliser

NOM_TACHE = "echanges.relever_accuses_mssante"
# Un accusé qui arrive avant que l'envoi ait noté le Message-ID du message est relu jusqu'à ce délai.
ATTENTE_RAPPROCHEMENT = timedelta(hours=24)
journal = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mdn:
    """Ce qu'un accusé dit : à quel message, quoi, pour qui."""

    identifiant: str
    original: str
    disposition: str
    mode: str
    destinataire: str
    recu_le: datetime


@dataclass(frozen=True)
class Releve:
    notes: int = 0  # accusés nouvellement notés
    deja_notes: int = 0
    ignores: int = 0  # courriels laissés dans la BAL (pas un accusé, ou message inconnu)


def lire_mdn(brut: bytes) -> Mdn | None:
    """L'accusé porté par `brut`, ou None si ce n'est pas un multipart/report de disposition."""
    courriel = email.message_from_bytes(brut, policy=email.policy.compat32)
    if courriel.get_content_type() != "multipart/report":
        return None
    if courriel.get_param("report-type", "").lower() != "disposition-notification":
        return None
    champs = next(
        (p for p in courriel.walk() if p.get_content_type() == "message/disposition-notification"), None
    )
    if champs is None:
        return None
    charge = champs.get_payload()
    champs = charge[0] if isinstance(charge, list) else email.message_from_string(str(charge))
    original = (champs.get("Original-Message-ID") or "").strip()
    mode, _, disposition = (champs.get("Disposition") or "").partition(";")
    disposition = disposition.strip().split("/")[0].lower()
    if not original or disposition not in Disposition.values:
        return None
    return Mdn(
        identifiant=(courriel.get("Message-ID") or "").strip() or hashlib.sha256(brut).hexdigest(),
        original=original,
        disposition=disposition,
        mode=mode.strip()[:100],
        destinataire=(champs.get("Final-Recipient") or "").partition(";")[2].strip()[:320],
        recu_le=_date(courriel),
    )


def _date(courriel: Message) -> datetime:
    try:
        date = parsedate_to_datetime(courriel["Date"])
    except (TypeError, ValueError):
        return timezone.now()
    return date if timezone.is_aware(date) else timezone.make_aware(date, UTC)  # « -0000 » : UTC


def noter(mdn: Mdn, brut: bytes) -> tuple[AccuseMSSante | None, bool]:
    """Note l'accusé sur son message. Rend (accusé, créé) ; (None, False) si aucun message du
    portail ne porte ce Message-ID."""
    message = MessageSortant.objects.filter(
        destination=Destination.MSSANTE, identifiant_distant=mdn.original
    ).first()
    if message is None:
        return None, False
    with transaction.atomic():
        accuse, cree = AccuseMSSante.objects.get_or_create(
            identifiant=mdn.identifiant[:250],
            defaults={
                "message": message, "disposition": mdn.disposition, "mode": mdn.mode,
                "destinataire": mdn.destinataire, "recu_le": mdn.recu_le,
                "brut": brut.decode("utf-8", "replace"),
            },
        )  # fmt: skip
        if cree:
            journaliser(
                acteur=acteur_systeme(NOM_TACHE), action="echanges.accuse.recu", objet=message,
                usager=message.usager,
                details={"disposition": mdn.disposition, "destinataire": mdn.destinataire,
                         "accuse": str(accuse.uuid)},
            )  # fmt: skip
    return accuse, cree


def _contexte_tls() -> ssl.SSLContext:
    contexte = ssl.create_default_context(cafile=settings.MSSANTE_CA)
    contexte.load_cert_chain(settings.MSSANTE_CERTIFICAT_CLIENT, settings.MSSANTE_CLE_CLIENT)
    return contexte


def relever() -> Releve:
    """Relève les accusés non lus de la BAL applicative. Lève `OSError`/`imaplib.IMAP4.error` si
    l'opérateur ne répond pas (le prochain relevé reprendra)."""
    notes = deja = ignores = 0
    imap = imaplib.IMAP4(
        settings.MSSANTE_HOTE, settings.MSSANTE_PORT_IMAP, timeout=settings.MSSANTE_DELAI_SECONDES
    )
    try:
        imap.starttls(_contexte_tls())
        imap.authenticate("EXTERNAL", lambda _defi: b"")
        imap.select("INBOX")
        _, donnees = imap.uid("SEARCH", None, "UNSEEN")
        for uid in (donnees[0] or b"").split():
            _, reponse = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            brut = next((r[1] for r in reponse if isinstance(r, tuple)), b"")
            mdn = lire_mdn(brut)
            accuse, cree = noter(mdn, brut) if mdn is not None else (None, False)
            if accuse is None and mdn is not None and timezone.now() - mdn.recu_le < ATTENTE_RAPPROCHEMENT:
                continue  # l'envoi n'a peut-être pas encore noté son Message-ID : au prochain relevé
            if accuse is None:
                ignores += 1
                imap.uid("STORE", uid, "+FLAGS.SILENT", "(\\Seen)")
                continue
            notes, deja = notes + cree, deja + (not cree)
            imap.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted \\Seen)")
        imap.expunge()
        imap.logout()
    except BaseException:
        imap.shutdown()
        raise
    if notes or ignores:
        journal.info("Accusés MSSanté : %s noté(s), %s déjà noté(s), %s ignoré(s).", notes, deja, ignores)
    return Releve(notes, deja, ignores)


@shared_task(name=NOM_TACHE)
def relever_accuses_mssante() -> int:
    """Tâche périodique (beat) : relève la BAL applicative ; rend le nombre d'accusés notés."""
    return relever().notes
