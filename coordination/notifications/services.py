"""Écritures des notifications : signaler un événement sans table à lui, lancer la distribution
après validation, marquer lu, enregistrer les préférences (docs/decisions/0035-notifications.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from coordination.notifications.catalogue import Canal, Frequence, NatureNotification
from coordination.notifications.models import Notification, Preference, Signal
from coordination.notifications.preferences import FREQUENCES_PAR_CANAL, Coordonnees, frequence_par_defaut

if TYPE_CHECKING:
    from collections.abc import Iterable

    from coordination.comptes.acteur import Acteur
    from coordination.comptes.models import Compte
    from coordination.personnes.models import Usager


def _lancer() -> None:
    from coordination.celery import publier_sans_attendre
    from coordination.notifications import tasks

    publier_sans_attendre(tasks.distribuer)


def distribuer_apres_validation() -> None:
    """À appeler par chaque producteur dans la transaction qui range l'événement : la
    distribution part après validation (une seule fois par transaction). Redis arrêté ? La
    requête n'attend pas, et le balayage de chaque minute la fera."""
    if any(appel is _lancer for _, appel, _ in connection.run_on_commit):
        return
    transaction.on_commit(_lancer, robust=True)


def signaler(
    *,
    nature: str,
    usager: Usager,
    objet,
    lien: str,
    destinataires: Iterable[str] = (),
    au_cercle: bool = False,
    auteur: Acteur | None = None,
) -> Signal | None:
    """Range, dans la transaction de l'appelant (un INSERT), un événement à notifier à
    `destinataires` (clés d'acteur) et, avec `au_cercle`, à l'entourage de `usager` (lui-même, ses
    proches, les membres actifs de son cercle), jamais à son auteur. La distribution revérifie le
    droit de chacun. Personne à prévenir : None."""
    if nature not in NatureNotification.values:
        raise ValueError(f"Nature de notification inconnue « {nature} ».")
    cle_auteur = auteur.cle if auteur is not None else ""
    cles = sorted({c for c in destinataires if c and c != cle_auteur})
    if not cles and not au_cercle:
        return None
    signal = Signal.objects.create(
        nature=nature, usager=usager, objet_type=objet._meta.label_lower, objet_uuid=objet.uuid,
        lien=lien[:300], destinataires=cles, au_cercle=au_cercle, auteur=cle_auteur,
    )  # fmt: skip
    distribuer_apres_validation()
    return signal


# --- Lire ------------------------------------------------------------------------------------


def marquer_lue(*, compte: Compte, notification_uuid) -> Notification | None:
    """Marque lue une notification du compte ; None si elle n'est pas à lui (la page répond 404)."""
    notification = Notification.objects.filter(compte=compte, uuid=notification_uuid).first()
    if notification is not None and notification.lue_le is None:
        notification.lue_le = timezone.now()
        notification.save(update_fields=["lue_le", "modifie_le"])
    return notification


def tout_marquer_lu(*, compte: Compte) -> int:
    maintenant = timezone.now()
    return Notification.objects.filter(compte=compte, lue_le__isnull=True).update(
        lue_le=maintenant, modifie_le=maintenant
    )


# --- Préférences -----------------------------------------------------------------------------


def nom_du_champ(nature: str, canal: str) -> str:
    return f"{nature}__{canal}"


@transaction.atomic
def enregistrer_preferences(*, compte: Compte, coordonnees: Coordonnees, saisie: dict) -> int:
    """Enregistre les choix postés (champ `<nature>__<canal>` → fréquence) ; rend le nombre de
    préférences changées. Une valeur inconnue, une fréquence que le canal n'offre pas, ou un canal
    indisponible (pas de BAL MSSanté, pas de téléphone) autre que « jamais » : ValidationError
    (par champ, en français) et rien n'est écrit."""
    erreurs: dict[str, str] = {}
    voulues: dict[tuple[str, str], str] = {}
    for nature in NatureNotification:
        for canal in Canal:
            champ = nom_du_champ(nature, canal)
            if champ not in saisie:
                continue
            valeur = saisie[champ]
            intitule = f"{nature.label} · {canal.label}"
            if valeur not in FREQUENCES_PAR_CANAL[canal]:
                erreurs[champ] = f"{intitule} : choisissez une des fréquences proposées."
            elif valeur != Frequence.JAMAIS and coordonnees.raison_indisponible(canal):
                erreurs[champ] = f"{intitule} : {coordonnees.raison_indisponible(canal)}"
            else:
                voulues[(nature.value, canal.value)] = valeur
    if erreurs:
        raise ValidationError(erreurs)
    existantes = {(p.nature, p.canal): p for p in Preference.objects.filter(compte=compte)}
    a_creer, a_changer, a_effacer = [], [], []
    for (nature, canal), frequence in voulues.items():
        actuelle = existantes.get((nature, canal))
        if frequence == frequence_par_defaut(nature, canal):
            if actuelle is not None:
                a_effacer.append(actuelle.pk)
        elif actuelle is None:
            a_creer.append(Preference(compte=compte, nature=nature, canal=canal, frequence=frequence))
        elif actuelle.frequence != frequence:
            actuelle.frequence, actuelle.modifie_le = frequence, timezone.now()
            a_changer.append(actuelle)
    Preference.objects.filter(pk__in=a_effacer).delete()
    Preference.objects.bulk_create(a_creer)
    Preference.objects.bulk_update(a_changer, ["frequence", "modifie_le"])
    return len(a_creer) + len(a_changer) + len(a_effacer)
