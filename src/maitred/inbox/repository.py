"""Inbound event queries: the ingest hot path, in plain SQL (`maitred.db.sql` says why)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from maitred.db.sql import dialect_sql, execute, timestamp

# ON CONFLICT DO NOTHING instead of catching the unique violation: no savepoint needed, and on
# PostgreSQL a concurrent insert of the same key waits for the other transaction and then
# reports the conflict, so two hub processes still record one event.
_INSERT_IF_NEW = dialect_sql(
    "INSERT INTO inbound_events"
    " (partner_id, dedupe_key, kind, venue_id, correlation_id, received_at)"
    " VALUES (:partner_id, :dedupe_key, :kind, :venue_id, :correlation_id, :received_at)"
    " ON CONFLICT (partner_id, dedupe_key) DO NOTHING RETURNING id"
)


def insert_if_new(
    connection: Connection,
    *,
    partner_id: str,
    dedupe_key: str,
    kind: str,
    venue_id: str | None,
    correlation_id: str | None,
    received_at: datetime,
) -> int | None:
    """Insert the event unless its (partner, dedupe key) exists: its id, or None if it did."""
    params = {
        "partner_id": partner_id,
        "dedupe_key": dedupe_key,
        "kind": kind,
        "venue_id": venue_id,
        "correlation_id": correlation_id,
        "received_at": timestamp(connection, received_at),
    }
    cursor = execute(connection, _INSERT_IF_NEW, params)
    row = cursor.fetchone()
    cursor.close()
    return None if row is None else int(row[0])
