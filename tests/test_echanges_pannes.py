"""Pannes, avec les vrais processus (ticket 8, point 7) : un worker Celery du portail (processus à
part, sur la base de test), un Redis privé qu'on redémarre, l'opérateur MSSanté du bac à sable qu'on
arrête. Chaque essai compte les messages envoyés (statut en base), reçus (Message-ID distincts
stockés par l'opérateur) et dupliqués (stockés deux fois : jamais ; les réceptions répétées que
l'opérateur a reconnues par la clé sont comptées à part). Attendu : tous, tous, aucun."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from django.db import transaction

from coordination.comptes.acteur import acteur_systeme
from coordination.echanges.essai import NATURE, envoyer_un_essai
from coordination.echanges.models import Destination, MessageSortant, StatutMessage
from coordination.echanges.mssante import identifiant_message as message_id_de
from coordination.echanges.services import mettre_en_file
from tests.worker_echanges import *  # noqa: F403 — fixtures : opérateur, Redis privé, workers
from tests.worker_echanges import attendre

pytestmark = [pytest.mark.django_db(transaction=True)]

SYSTEME = acteur_systeme("essais de pannes")
BAL = "secretariat@ssiad-fictif.mssante.fr"
TENTATIVES_MAX = 4  # ECHANGES_TENTATIVES_MAX du worker (tests/worker_echanges.py)


def essais(nombre: int) -> list[MessageSortant]:
    """`nombre` messages d'essai, chacun dans sa transaction (comme autant de changements)."""
    serie = uuid.uuid4().hex[:8]
    return [
        envoyer_un_essai(
            acteur=SYSTEME, destination=Destination.MSSANTE, destinataire=BAL, numero=f"{serie}-{n}"
        )
        for n in range(nombre)
    ]


def comptes(operateur, messages: list[MessageSortant]) -> dict[str, int]:
    """Envoyés (en base), reçus (stockés par l'opérateur), dupliqués (stockés plus d'une fois),
    réceptions répétées (reconnues par l'opérateur grâce au Message-ID tiré de la clé)."""
    attendus = {message_id_de(m): m for m in messages}
    stockes = [m.message_id for m in operateur.messages() if m.message_id in attendus]
    receptions = operateur.receptions()
    return {
        "envoyes": MessageSortant.objects.filter(
            pk__in=[m.pk for m in messages], statut=StatutMessage.ENVOYE
        ).count(),
        "recus": len(set(stockes)),
        "dupliques": len(stockes) - len(set(stockes)),
        "receptions_repetees": sum(max(0, receptions.get(i, 0) - 1) for i in attendus),
    }


def tous_envoyes(messages) -> Callable[[], bool]:
    ids = [m.pk for m in messages]
    return lambda: MessageSortant.objects.filter(pk__in=ids, statut=StatutMessage.ENVOYE).count() == len(ids)


def test_pair_arrete_pendant_100_envois_puis_tout_arrive_une_fois(operateur, workers):
    worker = workers()
    operateur.arreter()
    messages = essais(100)
    # Le pair est arrêté : les tentatives ratent (connexion refusée), rien n'est envoyé.
    ratees = MessageSortant.objects.filter(derniere_erreur__startswith="Destinataire indisponible")
    attendre(lambda: ratees.count() >= 50, 60, "Le worker ne tente pas d'envoyer", worker)
    assert not MessageSortant.objects.filter(statut=StatutMessage.ENVOYE).exists()
    operateur.lancer()
    attendre(
        tous_envoyes(messages), 90, "Tous les messages ne sont pas partis après le retour du pair", worker
    )
    assert comptes(operateur, messages) == {
        "envoyes": 100,
        "recus": 100,
        "dupliques": 0,
        "receptions_repetees": 0,
    }
    assert not MessageSortant.objects.exclude(statut=StatutMessage.ENVOYE).exists()


def test_worker_tue_en_plein_envoi_retente_sans_doublon(operateur, workers):
    """L'opérateur garde chaque message puis tarde à répondre : le worker tué pendant cette attente
    n'a pas écrit « envoyé ». Le bail expire, un autre worker renvoie ; l'opérateur reconnaît le
    Message-ID (tiré de la clé d'idempotence) et ne le garde qu'une fois."""
    operateur.regler(delai_reponse=30)
    premier = workers(MSSANTE_DELAI_SECONDES="120")
    messages = essais(3)
    attendre(
        lambda: operateur.receptions(message_id_de(messages[0])) >= 1, 30,
        "Le premier message n'arrive pas chez l'opérateur", premier,
    )  # fmt: skip
    premier.tuer()
    message = MessageSortant.objects.get(pk=messages[0].pk)
    assert (message.statut, message.tentatives) == (StatutMessage.A_ENVOYER, 1)
    operateur.regler(delai_reponse=0)
    second = workers()
    attendre(tous_envoyes(messages), 60, "Les messages ne repartent pas après la mort du worker", second)
    assert MessageSortant.objects.get(pk=messages[0].pk).tentatives == 2
    assert comptes(operateur, messages) == {
        "envoyes": 3,
        "recus": 3,
        "dupliques": 0,
        "receptions_repetees": 1,
    }


def test_redis_redemarre_rien_n_est_perdu(operateur, workers, redis_prive):
    """Les demandes d'envoi sont dans Redis, le worker est arrêté ; Redis redémarre sans
    sauvegarde : elles sont perdues, pas les messages (PostgreSQL). Et pendant que Redis est
    arrêté, un changement se valide quand même, sans attendre, et son message part ensuite."""
    messages = essais(50)
    assert redis_prive.client().llen("celery") == 50
    redis_prive.redemarrer()
    assert redis_prive.client().llen("celery") == 0
    redis_prive.arreter()
    debut = time.monotonic()
    pendant_la_panne = essais(10)
    assert time.monotonic() - debut < 10  # la validation n'attend pas Redis
    redis_prive.demarrer()
    worker = workers()
    tous = messages + pendant_la_panne
    attendre(tous_envoyes(tous), 90, "Des messages sont restés en file après le redémarrage de Redis", worker)
    assert comptes(operateur, tous) == {"envoyes": 60, "recus": 60, "dupliques": 0, "receptions_repetees": 0}


def test_message_empoisonne_en_lettre_morte_pendant_que_les_autres_passent(operateur, workers):
    with transaction.atomic():
        poison = mettre_en_file(
            acteur=SYSTEME, destination=Destination.MSSANTE, destinataire=BAL, nature=NATURE,
            cle_idempotence="essai:empoisonne", charge={},  # sans numéro : le constructeur échoue
        )  # fmt: skip
    messages = essais(20)
    worker = workers()
    attendre(tous_envoyes(messages), 60, "Les bons messages ne passent pas", worker)
    attendre(
        lambda: MessageSortant.objects.get(pk=poison.pk).statut == StatutMessage.ECHEC_DEFINITIF, 60,
        "Le message empoisonné n'est pas en lettre morte", worker,
    )  # fmt: skip
    poison.refresh_from_db()
    assert poison.tentatives == TENTATIVES_MAX
    assert (
        poison.derniere_erreur.startswith("Erreur à l'envoi (KeyError)")
        and "numero" in poison.derniere_erreur
    )
    assert comptes(operateur, messages) == {
        "envoyes": 20,
        "recus": 20,
        "dupliques": 0,
        "receptions_repetees": 0,
    }
