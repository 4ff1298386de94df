"""Plain SQL on the driver connection of the current transaction, for the hot paths.

SQLAlchemy's per-statement overhead (≈ 0.2 ms here) dominated the writer's time on the ingest
and delivery paths, so their statements run on the driver connection of the job's SQLAlchemy
connection — the same transaction — with parameters adapted by hand (ARCHITECTURE §3).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection


def dialect_sql(text: str) -> dict[str, str]:
    """One statement written with `:name` parameters, for sqlite3 and for psycopg."""
    return {"sqlite": text, "postgresql": re.sub(r":(\w+)", r"%(\1)s", text)}


def execute(connection: Connection, sql: dict[str, str], params: dict[str, Any]) -> Any:
    """Run `sql` on the driver connection inside the current transaction; the cursor."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(sql[connection.dialect.name], params)
    return cursor


def execute_many(connection: Connection, sql: dict[str, str], rows: list[dict[str, Any]]) -> None:
    """Run `sql` once per row on the driver connection inside the current transaction."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql[connection.dialect.name], rows)
    finally:
        cursor.close()


def timestamp(connection: Connection, value: datetime) -> Any:
    """A UTC instant as the `Timestamp` column type stores it (naive-UTC text on SQLite)."""
    if connection.dialect.name == "sqlite":
        return sqlite_timestamp(value)
    return value


def read_timestamp(value: datetime | str | None) -> datetime | None:
    """A `Timestamp` column read with a plain statement, as the column type would give it: an
    aware UTC instant (SQLite returns the stored naive-UTC text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_timestamp(value: datetime) -> str:
    """A UTC instant as text, the way the `Timestamp` column type stores it on SQLite."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
