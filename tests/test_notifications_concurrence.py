"""Deux distributions en même temps (deux workers, deux connexions) : `FOR UPDATE SKIP LOCKED`
les fait passer sur des lignes différentes ; chaque événement est distribué une fois, sans
notification ni message en double."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from cahier_liaison.models import EvenementCahier
from coordination.echanges.models import MessageSortant
from coordination.notifications import distribution
from coordination.notifications.models import Notification
from tests.monde_cahier import construire_monde_cahier, note_de


@pytest.mark.django_db(transaction=True)
def test_deux_distributions_simultanees_ne_doublent_rien():
    monde = construire_monde_cahier()
    distribution.distribuer()
    for rang in range(30):
        note_de(monde, texte=f"Passage {rang}.", urgente=rang % 3 == 0)
    attendus = EvenementCahier.objects.filter(distribue_le__isnull=True).count()
    depart, erreurs, crees = threading.Barrier(2), [], []

    def travailler():
        try:
            depart.wait()
            crees.append(distribution.distribuer(taille=5))
        except Exception as exc:  # noqa: BLE001 - rapporté au test
            erreurs.append(exc)
        finally:
            connection.close()

    fils = [threading.Thread(target=travailler) for _ in range(2)]
    for f in fils:
        f.start()
    for f in fils:
        f.join(timeout=120)
    assert erreurs == []
    assert not EvenementCahier.objects.filter(distribue_le__isnull=True).exists()
    assert attendus == 40
    notifications = Notification.objects.filter(source="cahier")
    assert sum(crees) == notifications.count() > 0
    assert notifications.values("source_uuid", "compte").distinct().count() == notifications.count()
    immediats = MessageSortant.objects.filter(nature="notifications.immediate")
    assert immediats.count() == immediats.values("cle_idempotence").distinct().count() > 0
