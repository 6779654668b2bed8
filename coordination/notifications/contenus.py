"""Constructeurs des messages de notification (`echanges.natures.CONSTRUCTEURS`).

Courriel et SMS ne portent aucune donnée de santé : ni le nom de la personne, ni le contenu de
la note ; une phrase neutre et un lien. MSSanté (messagerie sécurisée) peut nommer la personne et
la nature de l'événement. Un résumé compte les notifications par nature, avec les liens."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.urls import reverse

from coordination.echanges.contenus import Contenu
from coordination.echanges.models import Destination, MessageSortant
from coordination.notifications.catalogue import Frequence, NatureNotification
from coordination.notifications.models import Notification

PHRASES_NEUTRES = {
    "cercle": "Le cercle d'une personne que vous accompagnez a changé.",
    "cahier": "Une nouvelle transmission concerne une personne que vous accompagnez.",
    "agenda": "Un rendez-vous concerne une personne que vous accompagnez.",
    "ppa": "Le projet personnalisé d'une personne que vous accompagnez a évolué.",
}
SUJET_NEUTRE = "Portail de coordination : du nouveau pour vous"
PIED = "Connectez-vous au portail pour en savoir plus. Ce message ne contient aucune donnée de santé."


def adresse_absolue(chemin: str) -> str:
    return settings.NOTIFICATIONS_ADRESSE_PORTAIL.rstrip("/") + chemin


def phrase_neutre(nature: str) -> str:
    return PHRASES_NEUTRES[nature.split(".", 1)[0]]


def _donnees(message: MessageSortant) -> dict:
    return {"telephone": message.destinataire} if message.destination == Destination.SMS else {}


def construire_immediate(message: MessageSortant) -> Contenu:
    """Une notification, tout de suite. Lève `Notification.DoesNotExist` si elle a disparu."""
    notification = Notification.objects.select_related("usager").get(uuid=message.charge["notification"])
    lien = adresse_absolue(notification.lien)
    libelle = NatureNotification(notification.nature).label
    if message.destination == Destination.MSSANTE:
        concerne = f" — {notification.usager}" if notification.usager_id else ""
        return Contenu(
            sujet=f"{libelle}{concerne}",
            texte=f"{libelle}{concerne}.\n\nPour la consulter : {lien}\n",
            lien=lien,
        )
    if message.destination == Destination.SMS:
        return Contenu(sujet=SUJET_NEUTRE, texte=f"{phrase_neutre(notification.nature)} {lien}", lien=lien,
                       donnees=_donnees(message))  # fmt: skip
    return Contenu(
        sujet=SUJET_NEUTRE, texte=f"{phrase_neutre(notification.nature)}\n\n{lien}\n\n{PIED}\n", lien=lien
    )


def construire_resume(message: MessageSortant) -> Contenu:
    """Le résumé : nombre de notifications par nature, et les liens (le nom de la personne et le
    lien de chaque notification seulement par MSSanté)."""
    notifications = list(
        Notification.objects.filter(uuid__in=message.charge["notifications"])
        .select_related("usager")
        .order_by("cree_le", "pk")
    )
    periode = "du jour" if message.charge.get("frequence") == Frequence.QUOTIDIENNE else "de la semaine"
    liste = adresse_absolue(reverse("notifications:liste"))
    comptes = Counter(n.nature for n in notifications)
    lignes = [f"- {NatureNotification(nature).label} : {n}" for nature, n in sorted(comptes.items())]
    if message.destination == Destination.MSSANTE:
        lignes.append("")
        lignes += [
            f"- {n.titre}" + (f" — {n.usager}" if n.usager_id else "") + f" : {adresse_absolue(n.lien)}"
            for n in notifications
        ]
    sujet = f"Portail de coordination : votre résumé {periode} ({len(notifications)})"
    if message.destination == Destination.SMS:
        texte = f"{len(notifications)} notification(s) vous attendent sur le portail : {liste}"
        return Contenu(sujet=sujet, texte=texte, lien=liste, donnees=_donnees(message))
    texte = f"Votre résumé {periode} :\n\n" + "\n".join(lignes) + f"\n\nToutes vos notifications : {liste}\n"
    if message.destination != Destination.MSSANTE:
        texte += f"\n{PIED}\n"
    return Contenu(sujet=sujet, texte=texte, lien=liste)
