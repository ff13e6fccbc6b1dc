"""Multi-row statements with array parameters, sent in binary (the consumers' bulk writes).

Django's cursor binds parameters client-side: psycopg renders each list as an ARRAY
literal in Python, element by element, which for a batch of 500 events times a dozen
columns was a large share of a consumer's CPU.  :func:`execute` runs a statement on the
same connection (so in the same transaction) through a server-side-binding cursor with
binary parameters: write ``%b`` placeholders, with a cast (``%b::bigint[]``).  Database
errors come out as Django's (``OperationalError`` and so on), so the consumer runner's
retry rules treat them as usual.  These statements bypass Django's query logging.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection


def execute(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run ``sql`` (``%b`` placeholders) on Django's connection; return its rows ([] if none)."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []
