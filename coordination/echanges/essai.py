"""Le message d'essai : vérifier qu'une BAL, un point d'accès ou un numéro reçoit bien ce que le
portail envoie (mise en service d'une structure, supervision), par le même chemin que les vrais
messages — boîte d'envoi, worker, adaptateur. Il ne porte aucune donnée de personne : sa charge ne
contient que le numéro d'essai."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from coordination.echanges.contenus import Contenu
from coordination.echanges.services import mettre_en_file

if TYPE_CHECKING:
    from coordination.comptes.acteur import Acteur
    from coordination.echanges.models import MessageSortant

NATURE = "echanges.essai"


def envoyer_un_essai(*, acteur: Acteur, destination: str, destinataire: str, numero: str) -> MessageSortant:
    """Met en file un message d'essai ; `numero` (unique) fait sa clé d'idempotence."""
    with transaction.atomic():
        return mettre_en_file(
            acteur=acteur, destination=destination, destinataire=destinataire, nature=NATURE,
            cle_idempotence=f"{NATURE}:{numero}", charge={"numero": numero},
        )  # fmt: skip


def construire(message: MessageSortant) -> Contenu:
    numero = message.charge["numero"]
    return Contenu(
        sujet=f"Message d'essai du portail de coordination (n° {numero})",
        texte=(
            "Bonjour,\n\nCeci est un message d'essai envoyé par le portail de coordination pour "
            f"vérifier la réception (essai n° {numero}). Il ne contient aucune donnée de personne ; "
            "vous pouvez l'ignorer.\n"
        ),
    )
