"""Mise en file des messages sortants (ADR 0031) ; l'envoi est dans `envoi.py` (ADR 0032).

`mettre_en_file` s'appelle DANS la transaction de l'appelant : le message existe si et seulement
si le changement qui le cause est validé. Idempotent sur sa clé. Refuse d'emblée — ligne gardée,
statut « refusé », raison en français — un message vers le DMP, Mon espace santé ou la messagerie
du patient (`<matricule>@patient.mssante.fr`) pour une personne dont l'identité INS n'est pas
qualifiée : l'INS ne quitte le portail que qualifiée (RNIV ; interop.md §12)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from coordination.echanges.models import Destination, MessageSortant, StatutMessage
from coordination.journal.services import journaliser

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur
    from coordination.personnes.models import Usager

DOMAINE_PATIENT_MSSANTE = "@patient.mssante.fr"


class TransactionRequise(RuntimeError):
    """`mettre_en_file` appelé hors d'une transaction : le message pourrait survivre à un
    changement annulé, ou manquer à un changement validé."""


def exige_ins_qualifiee(destination: str, destinataire: str) -> bool:
    """Le DMP, Mon espace santé et la messagerie MSSanté du patient identifient la personne par son
    matricule INS : ils exigent une identité qualifiée."""
    if destination in (Destination.DMP, Destination.MES):
        return True
    return destination == Destination.MSSANTE and destinataire.lower().endswith(DOMAINE_PATIENT_MSSANTE)


def raison_de_refus(destination: str, destinataire: str, usager: Usager | None) -> str:
    """La raison (en français, lue par des personnes) pour laquelle ce message ne doit pas partir,
    ou "" s'il peut partir."""
    if not exige_ins_qualifiee(destination, destinataire):
        return ""
    canal = Destination(destination).label
    if usager is None:
        return f"Envoi refusé : un message vers {canal} doit désigner la personne concernée."
    if not usager.identite_qualifiee:
        return (
            f"Envoi refusé : l'identité INS de {usager} n'est pas qualifiée "
            f"(statut « {usager.get_statut_identite_display()} »). L'INS ne quitte le portail "
            "que qualifiée : faites qualifier l'identité (pièce d'identité et téléservice INSi), "
            "puis demandez un nouvel envoi."
        )
    if destination == Destination.MSSANTE:
        attendu = f"{usager.matricule_ins}{DOMAINE_PATIENT_MSSANTE}"
        if destinataire.lower() != attendu:
            return (
                "Envoi refusé : l'adresse de messagerie du patient ne correspond pas au matricule INS "
                f"de {usager}."
            )
    return ""


def mettre_en_file(
    *,
    acteur: Acteur,
    destination: str,
    destinataire: str,
    nature: str,
    cle_idempotence: str,
    charge: dict | None = None,
    usager: Usager | None = None,
    objet=None,
    precedent: MessageSortant | None = None,
) -> MessageSortant:
    """Range un message sortant dans la transaction en cours et le rend.

    - Hors transaction : `TransactionRequise` (rien n'est écrit).
    - Même clé d'idempotence qu'un message existant : ce message-là, tel quel (pas de doublon,
      même si deux transactions se croisent : la contrainte d'unicité tranche) ; une clé reprise
      pour un autre destinataire ou une autre nature est une erreur de programmation (ValueError).
    - Identité INS non qualifiée quand la destination l'exige : la ligne est écrite au statut
      « refusé » avec la raison, et ne partira pas.
    Journalisé (`echanges.message.en_file` ou `echanges.message.refuse`)."""
    if not connection.in_atomic_block:
        raise TransactionRequise(
            "mettre_en_file s'appelle dans la transaction du changement qui cause le message."
        )
    if destination not in Destination.values:
        raise ValueError(f"Destination inconnue : {destination!r}.")
    existant = MessageSortant.objects.filter(cle_idempotence=cle_idempotence).first()
    if existant is None:
        existant = _creer(
            acteur=acteur, destination=destination, destinataire=destinataire, nature=nature,
            cle_idempotence=cle_idempotence, charge=charge or {}, usager=usager, objet=objet,
            precedent=precedent,
        )  # fmt: skip
    elif (existant.destination, existant.destinataire, existant.nature) != (
        destination,
        destinataire,
        nature,
    ):
        raise ValueError(
            f"Clé d'idempotence {cle_idempotence!r} déjà prise par un autre message "
            f"({existant.nature} vers {existant.destinataire})."
        )
    return existant


def _creer(*, acteur, destination, destinataire, nature, cle_idempotence, charge, usager, objet, precedent):
    raison = raison_de_refus(destination, destinataire, usager)
    maintenant = timezone.now()
    message = MessageSortant(
        destination=destination, destinataire=destinataire[:320], nature=nature, charge=charge,
        cle_idempotence=cle_idempotence, usager=usager, precedent=precedent, cree_par=acteur.cle,
        objet_type=objet._meta.label_lower if objet is not None else "",
        objet_uuid=getattr(objet, "uuid", None),
        statut=StatutMessage.REFUSE if raison else StatutMessage.A_ENVOYER,
        prochain_essai_le=None if raison else maintenant, derniere_erreur=raison,
    )  # fmt: skip
    try:
        with transaction.atomic():  # point de sauvegarde : la course perdue n'annule pas l'appelant
            message.save()
    except IntegrityError:
        # Une autre transaction a rangé la même clé entre-temps (et l'a validée) : c'est ce message-là.
        return MessageSortant.objects.get(cle_idempotence=cle_idempotence)
    details = {"destination": destination, "nature": nature, "message": str(message.uuid)}
    if raison:
        details["raison"] = raison
    if not raison:
        demander_l_envoi(message)
    journaliser(
        acteur=acteur,
        action="echanges.message.refuse" if raison else "echanges.message.en_file",
        objet=objet,
        usager=usager,
        resultat="refuse" if raison else "succes",
        details=details,
    )
    return message


def messages_de(objet) -> list[MessageSortant]:
    """Les messages sortants causés par `objet` (fiche, version…), du plus ancien au plus récent.
    Pas de contrôle d'accès ici : l'appelant a déjà lu `objet` par son sélecteur habilité."""
    return list(
        MessageSortant.objects.filter(objet_type=objet._meta.label_lower, objet_uuid=objet.uuid).order_by(
            "cree_le", "id"
        )
    )


def demander_l_envoi(message: MessageSortant) -> None:
    """Après la validation de la transaction, demande à un worker d'envoyer ce message. Si Redis ne
    répond pas, rien n'est perdu ni attendu : le balayage le prendra (la demande n'est qu'un
    raccourci, `publier_sans_attendre`)."""
    from coordination.celery import publier_sans_attendre
    from coordination.echanges import tasks  # la tâche importe l'envoi, qui importe ce module

    transaction.on_commit(lambda: publier_sans_attendre(tasks.envoyer, message.pk))
