"""Reservation queries, on the ingest hot path: plain SQL on the job's driver connection (see
`maitred.db.sql` for why), with JSON and timestamps adapted here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from maitred.db.sql import dialect_sql, execute, timestamp

JSON_COLUMNS = ("rms_tables", "items", "payload")


@dataclass(frozen=True)
class Stored:
    """The parts of a stored reservation that applying a new state needs."""

    id: int
    version: int
    content_hash: str
    payload: dict[str, Any]
    items: list[dict[str, Any]] | None


_FIND = dialect_sql(
    "SELECT id, version, content_hash, payload, items FROM reservations"
    " WHERE venue_id = :venue_id AND booking_id = :booking_id"
)
_INSERT_IF_NEW = dialect_sql(
    "INSERT INTO reservations (venue_id, booking_id, rms_partner_id, version, status,"
    " party_size, date, rms_tables, items, payload, content_hash, created_at, updated_at,"
    " followup_pending, followup_correlation_id)"
    " VALUES (:venue_id, :booking_id, :rms_partner_id, :version, :status, :party_size, :date,"
    " :rms_tables, :items, :payload, :content_hash, :created_at, :updated_at,"
    " TRUE, :followup_correlation_id)"
    " ON CONFLICT (venue_id, booking_id) DO NOTHING RETURNING id"
)
_UPDATE = dialect_sql(
    "UPDATE reservations SET status = :status, party_size = :party_size, date = :date,"
    " rms_tables = :rms_tables, items = :items, payload = :payload,"
    " content_hash = :content_hash, updated_at = :updated_at, version = version + 1,"
    " followup_pending = TRUE, followup_correlation_id = :followup_correlation_id"
    " WHERE id = :id RETURNING version"
)


def json_in(value: Any) -> Any:
    """A JSON column's value as Python (SQLite gives the text, psycopg the parsed value)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _params(connection: Connection, values: dict[str, Any]) -> dict[str, Any]:
    params = dict(values)
    for column in JSON_COLUMNS:  # a str is JSON text already
        if params.get(column) is not None and not isinstance(params[column], str):
            params[column] = json.dumps(params[column], separators=(",", ":"))
    for column in ("created_at", "updated_at"):
        if isinstance(params.get(column), datetime):
            params[column] = timestamp(connection, params[column])
    return params


def find(connection: Connection, *, venue_id: str, booking_id: str) -> Stored | None:
    """The stored state of one booking at one venue."""
    cursor = execute(connection, _FIND, {"venue_id": venue_id, "booking_id": booking_id})
    row = cursor.fetchone()
    cursor.close()
    if row is None:
        return None
    return Stored(int(row[0]), int(row[1]), str(row[2]), json_in(row[3]), json_in(row[4]))


def insert_if_new(connection: Connection, values: dict[str, Any]) -> int | None:
    """Insert a booking (`values` by column name); None when the (venue, booking) row appeared
    meanwhile (another process)."""
    cursor = execute(connection, _INSERT_IF_NEW, _params(connection, values))
    row = cursor.fetchone()
    cursor.close()
    return None if row is None else int(row[0])


def update_state(connection: Connection, *, reservation_id: int, values: dict[str, Any]) -> int:
    """Store a new state (`values` by column name) and bump the version; the new version."""
    params = _params(connection, values) | {"id": reservation_id}
    cursor = execute(connection, _UPDATE, params)
    version = int(cursor.fetchone()[0])
    cursor.close()
    return version
