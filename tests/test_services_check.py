"""Start-up checks recover from a connection Postgres terminated (marketplace/services_check.py)."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from marketplace.services_check import check_database, wait_for_database


def _terminate(pid: int) -> None:
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"], dbname=db["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(transaction=True)
def test_waiting_for_the_database_reconnects_after_postgres_terminates_the_connection() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    _terminate(pid)
    # psycopg's error or Django's wrapper of it: either way, the connection is gone.
    with pytest.raises(Exception):
        check_database()
    wait_for_database(timeout=10)  # a fresh connection, not the dead one again
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
