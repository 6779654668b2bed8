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
