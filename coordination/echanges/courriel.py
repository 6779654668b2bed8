"""Adaptateur « courriel » (`adaptateurs.ADAPTATEURS["courriel"]`) : les notifications sans donnée
de santé, par le moteur de courriel Django configuré (`NOTIFICATIONS_COURRIEL_BACKEND`, SMTP vers
l'opérateur du bac à sable dans `make run`).

Le Message-ID est dérivé de la clé d'idempotence : un renvoi après une panne au mauvais moment
porte le même, et le serveur (ou le lecteur) le reconnaît. Les erreurs SMTP deviennent
`PairIndisponible` (4xx, connexion, délai) ou `Rejet` (5xx)."""

from __future__ import annotations

import hashlib
import smtplib
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from coordination.echanges.erreurs import PairIndisponible, Rejet

if TYPE_CHECKING:
    from coordination.echanges.contenus import Contenu
    from coordination.echanges.models import MessageSortant


def message_id(cle_idempotence: str) -> str:
    empreinte = hashlib.sha256(cle_idempotence.encode()).hexdigest()[:40]
    return f"<{empreinte}@{settings.NOTIFICATIONS_DOMAINE_MESSAGE_ID}>"


def _connexion():
    options = {"fail_silently": False}
    if settings.NOTIFICATIONS_SMTP_HOTE:
        options["host"] = settings.NOTIFICATIONS_SMTP_HOTE
    if settings.NOTIFICATIONS_SMTP_PORT:
        options["port"] = settings.NOTIFICATIONS_SMTP_PORT
    if settings.NOTIFICATIONS_COURRIEL_BACKEND.endswith("smtp.EmailBackend"):
        options["timeout"] = settings.NOTIFICATIONS_SMTP_DELAI_SECONDES
    return get_connection(settings.NOTIFICATIONS_COURRIEL_BACKEND, **options)


def _selon_le_code(code: int, texte: str):
    if 400 <= code < 500:
        return PairIndisponible(f"Le serveur de courriel demande de réessayer ({code} {texte}).")
    return Rejet(f"Le serveur de courriel refuse le message ({code} {texte}).")


def _texte(reponse) -> str:
    return reponse.decode(errors="replace") if isinstance(reponse, bytes) else str(reponse)


def envoyer(message: MessageSortant, contenu: Contenu) -> str:
    """Remet le courriel ; rend son Message-ID."""
    identifiant = message_id(message.cle_idempotence)
    courriel = EmailMessage(
        subject=contenu.sujet, body=contenu.texte, from_email=settings.NOTIFICATIONS_EXPEDITEUR,
        to=[message.destinataire], headers={"Message-ID": identifiant},
        connection=_connexion(),
    )  # fmt: skip
    try:
        envoyes = courriel.send()
    except smtplib.SMTPRecipientsRefused as exc:
        code, reponse = next(iter(exc.recipients.values()))
        raise _selon_le_code(code, _texte(reponse)) from exc
    except smtplib.SMTPResponseException as exc:
        raise _selon_le_code(exc.smtp_code, _texte(exc.smtp_error)) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise PairIndisponible(f"Serveur de courriel injoignable : {exc}.") from exc
    if not envoyes:
        raise PairIndisponible("Le moteur de courriel n'a rien envoyé.")
    return identifiant
