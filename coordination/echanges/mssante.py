"""Adaptateur MSSanté (`ADAPTATEURS["mssante"]`) : met le `Contenu` en forme MIME et le remet à
l'opérateur par SMTP STARTTLS, avec le certificat client de la BAL applicative (interop.md §10).

- Corps texte ; s'il y a des documents : `IHE_XDM.ZIP` (`xdm.py`, INS seulement si qualifiée),
  une copie PDF de chaque PDF, sujet `XDM/1.0/DDM+<titre>`, `X-MSS-INS` (O/N).
- `X-MSS-NIL` toujours ; `X-MSS-MES: FIN` vers une adresse patient ; `Disposition-Notification-To`
  = la BAL applicative (les accusés sont relevés par `accuses.py`).
- Message-ID dérivé de la clé d'idempotence : un renvoi est dédoublonné par l'opérateur.
- Une connexion SMTP par processus (et par fil), gardée d'un message à l'autre, rouverte si
  l'opérateur l'a fermée.
- Erreurs : connexion impossible, délai, TLS, 4xx → `PairIndisponible` ; 5xx → `Rejet`."""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import threading
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from coordination.echanges import xdm
from coordination.echanges.contenus import Contenu
from coordination.echanges.erreurs import PairIndisponible, Rejet
from coordination.echanges.models import MessageSortant
from coordination.echanges.services import DOMAINE_PATIENT_MSSANTE

PREFIXE_SUJET_XDM = "XDM/1.0/DDM+"
SMTP_COMPAT32 = compat32.clone(linesep="\r\n")
_local = threading.local()


def identifiant_message(message: MessageSortant) -> str:
    """Message-ID stable pour une clé d'idempotence (même message → même Message-ID)."""
    empreinte = hashlib.sha256(message.cle_idempotence.encode()).hexdigest()[:40]
    domaine = settings.MSSANTE_BAL_APPLICATION.rpartition("@")[2]
    return f"<{empreinte}@{domaine}>"


def _reference_nil() -> str:
    reference = settings.PORTAIL_REFERENCE_CONVERGENCE or settings.MSSANTE_X_MSS_NIL
    if not reference:
        raise ImproperlyConfigured("PORTAIL_REFERENCE_CONVERGENCE (en-tête X-MSS-NIL) n'est pas renseigné.")
    return reference


def composer(message: MessageSortant, contenu: Contenu) -> Message:
    """Le message MIME prêt à partir. Lève `Rejet` si l'adresse patient n'est plus permise."""
    patient_destinataire = message.destinataire.lower().endswith(DOMAINE_PATIENT_MSSANTE)
    patient = xdm.patient_ins(message.usager)
    if patient_destinataire and (
        patient is None or message.destinataire.lower() != f"{patient.matricule}{DOMAINE_PATIENT_MSSANTE}"
    ):
        raise Rejet(
            "Envoi refusé : l'identité INS de la personne n'est plus qualifiée ou ne correspond plus "
            "à l'adresse de sa messagerie."
        )
    texte = contenu.texte + (f"\n\n{contenu.lien}\n" if contenu.lien else "")
    # Classes `email.mime` (politique compat32) : trois fois plus rapides que EmailMessage, pour
    # tenir le débit demandé (ticket 8 : ≥ 200 messages/s par worker).
    corps = MIMEText(texte, "plain", "utf-8")
    mime = MIMEMultipart("mixed") if contenu.documents else corps
    sujet = f"{PREFIXE_SUJET_XDM}{contenu.sujet}" if contenu.documents else contenu.sujet
    mime["From"] = settings.MSSANTE_BAL_APPLICATION
    mime["To"] = message.destinataire
    mime["Date"] = format_datetime(timezone.now())
    mime["Message-ID"] = identifiant_message(message)
    mime["Subject"] = sujet if sujet.isascii() else Header(sujet, "utf-8")
    mime["X-MSS-NIL"] = _reference_nil()
    mime["Disposition-Notification-To"] = settings.MSSANTE_BAL_APPLICATION
    if patient_destinataire:
        mime["X-MSS-MES"] = "FIN"
    if contenu.documents:
        mime["X-MSS-INS"] = "O" if patient is not None else "N"
        mime.attach(corps)
        archive = xdm.archive(
            contenu.documents, patient=patient, identifiant_lot=f"2.25.{message.uuid.int}",
            source=settings.MSSANTE_OID_SOURCE, titre=contenu.sujet, auteur=settings.MSSANTE_BAL_APPLICATION,
        )  # fmt: skip
        mime.attach(_piece(archive, "zip", "IHE_XDM.ZIP"))
        for document in contenu.documents:
            if document.type_mime == "application/pdf":
                mime.attach(_piece(document.octets, "pdf", document.nom_fichier))
    return mime


def _piece(octets: bytes, sous_type: str, nom: str) -> MIMEApplication:
    piece = MIMEApplication(octets, sous_type)
    piece.add_header("Content-Disposition", "attachment", filename=nom)
    return piece


def _contexte_tls() -> ssl.SSLContext:
    if not (settings.MSSANTE_CA and settings.MSSANTE_CERTIFICAT_CLIENT and settings.MSSANTE_CLE_CLIENT):
        raise ImproperlyConfigured("MSSANTE_CA, MSSANTE_CERTIFICAT_CLIENT et MSSANTE_CLE_CLIENT sont requis.")
    contexte = ssl.create_default_context(cafile=settings.MSSANTE_CA)
    contexte.load_cert_chain(settings.MSSANTE_CERTIFICAT_CLIENT, settings.MSSANTE_CLE_CLIENT)
    return contexte


def _connexion() -> tuple[smtplib.SMTP, bool]:
    """La connexion du processus (ouverte si besoin) et si elle servait déjà."""
    smtp = getattr(_local, "smtp", None)
    if smtp is not None and _local.pid == os.getpid():
        return smtp, True
    smtp = smtplib.SMTP(
        settings.MSSANTE_HOTE, settings.MSSANTE_PORT_SMTP, timeout=settings.MSSANTE_DELAI_SECONDES
    )
    try:
        smtp.starttls(context=_contexte_tls())
        smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    _local.smtp, _local.pid = smtp, os.getpid()
    return smtp, False


def fermer() -> None:
    """Ferme la connexion du processus (elle sera rouverte au prochain envoi)."""
    smtp, _local.smtp = getattr(_local, "smtp", None), None
    if smtp is not None and getattr(_local, "pid", None) == os.getpid():
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _texte(reponse: bytes | str) -> str:
    return reponse.decode("utf-8", "replace") if isinstance(reponse, bytes) else str(reponse)


def envoyer(message: MessageSortant, contenu: Contenu) -> str:
    """Remet le message à l'opérateur ; rend son Message-ID."""
    return remettre(composer(message, contenu), message.destinataire)


def remettre(mime: Message, destinataire: str) -> str:
    """Remet un message MIME déjà composé à `destinataire` ; rend son Message-ID."""
    octets = mime.as_bytes(policy=SMTP_COMPAT32)  # fins de ligne CRLF (smtplib ne touche pas aux octets)
    for essai in (1, 2):
        reprise = False
        try:
            smtp, reprise = _connexion()
            smtp.sendmail(settings.MSSANTE_BAL_APPLICATION, [destinataire], octets)
            return mime["Message-ID"]
        except smtplib.SMTPRecipientsRefused as refus:
            code, reponse = next(iter(refus.recipients.values()))
            _erreur(code, reponse)
        except smtplib.SMTPResponseException as erreur:  # MAIL ou DATA refusés
            _erreur(erreur.smtp_code, erreur.smtp_error)
        except (OSError, smtplib.SMTPException) as erreur:  # connexion, délai, TLS, coupure
            _abandonner_connexion()
            if essai == 1 and reprise:
                continue  # connexion gardée que l'opérateur a fermée entre-temps : une nouvelle
            raise PairIndisponible(f"Opérateur MSSanté injoignable : {erreur}") from erreur
    raise AssertionError("inaccessible : chaque essai rend, lève ou recommence une fois")


def _abandonner_connexion() -> None:
    """Oublie la connexion du fil sans dialogue (elle est coupée ou l'opérateur l'a fermée)."""
    smtp, _local.smtp = getattr(_local, "smtp", None), None
    if smtp is not None:
        smtp.close()


def _erreur(code: int, reponse: bytes | str) -> None:
    texte = _texte(reponse)
    if 400 <= code < 500:
        if code == 421:
            _abandonner_connexion()
        raise PairIndisponible(f"Opérateur MSSanté : {code} {texte}")
    raise Rejet(f"Refusé par l'opérateur MSSanté : {code} {texte}")
