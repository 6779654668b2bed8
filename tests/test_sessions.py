"""Les sessions expirent après 30 minutes d'inactivité (expiration glissante)."""

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.utils import timezone
from freezegun import freeze_time

from tests.factories import CompteFactory

pytestmark = pytest.mark.django_db


def _expiration(client) -> datetime.datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_inactivite_par_defaut_trente_minutes():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_expiration_glissante_puis_deconnexion_apres_inactivite(client):
    depart = timezone.now()
    with freeze_time(depart) as horloge:
        client.force_login(CompteFactory())
        client.get("/")
        assert abs(_expiration(client) - (depart + datetime.timedelta(minutes=30))) < datetime.timedelta(
            seconds=5
        )

        # Une requête au bout de 20 minutes repousse l'échéance.
        horloge.tick(datetime.timedelta(minutes=20))
        client.get("/")
        attendu = depart + datetime.timedelta(minutes=50)
        assert abs(_expiration(client) - attendu) < datetime.timedelta(seconds=5)

        # 31 minutes sans rien : la session n'est plus valable.
        horloge.tick(datetime.timedelta(minutes=31))
        caches[settings.SESSION_CACHE_ALIAS].clear()  # le TTL Redis suit l'horloge réelle, pas freezegun
        reponse = client.get("/")
    assert reponse.status_code == 302
    assert reponse.url.startswith("/comptes/login/")
