"""Recording inbound events under their dedupe keys, so a partner's retry has no second effect."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection

from maitred.clock import now
from maitred.inbox import repository

MAX_KEY = 255  # inbound_events.dedupe_key is VARCHAR(255)


def rms_booking_key(*, venue_id: str, booking_id: str, digest: str) -> str:
    """`rms:<venue>:<booking>:<sha256 of the payload>`; a long booking id is hashed to fit."""
    key = f"rms:{venue_id}:{booking_id}:{digest}"
    if len(key) <= MAX_KEY:
        return key
    short = hashlib.sha256(booking_id.encode()).hexdigest()
    return f"rms:{venue_id}:#{short}:{digest}"[:MAX_KEY]


def record(
    connection: Connection,
    *,
    partner_id: str,
    dedupe_key: str,
    kind: str,
    venue_id: str | None,
    correlation_id: str | None,
) -> bool:
    """Record one inbound event; False when the same key was already recorded (a duplicate)."""
    event_id = repository.insert_if_new(
        connection,
        partner_id=partner_id,
        dedupe_key=dedupe_key[:MAX_KEY],
        kind=kind,
        venue_id=venue_id,
        correlation_id=correlation_id,
        received_at=now(),
    )
    return event_id is not None
