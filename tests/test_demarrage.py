"""La suite tourne sur un vrai PostgreSQL et un vrai Redis."""

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection


@pytest.mark.django_db
def test_base_postgresql_reelle():
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert "PostgreSQL" in cursor.fetchone()[0]
    assert connection.vendor == "postgresql"


def test_redis_reel():
    cache.set("sonde", "ok", 5)
    assert cache.get("sonde") == "ok"
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.info("server")["redis_version"]


@pytest.mark.django_db
def test_requetes_preparees_par_postgresql():
    """Paramètres liés côté serveur : une requête jouée plus de cinq fois sur la connexion est
    préparée par psycopg (ADR 0027), ses valeurs restant des paramètres ($1, $2)."""
    from coordination.personnes.models import Usager

    assert connection.features.uses_server_side_binding
    for _ in range(7):
        list(Usager.objects.filter(pk=-1, nom_naissance="SONDE"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%personnes_usager%"]
        )
        [(preparee,)] = cursor.fetchall()
    assert '"personnes_usager"."nom_naissance" = $1 AND "personnes_usager"."id" = $2' in preparee
    assert "SONDE" not in preparee
