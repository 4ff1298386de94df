"""The writer job behind every POS call: resolve the venue, dedupe, apply, enqueue events."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from maitred.db import generations
from maitred.errors import NotFound, field_details
from maitred.inbox import service as inbox
from maitred.orders import repository as repo
from maitred.orders.service import Applied, PosChange, apply_pos_order
from maitred.partners.service import Caller
from maitred.venues import repository as venues


def dedupe_key(venue_id: str, change: PosChange) -> str:
    """Updates carry no event id (decision 10): identity is the order plus the content."""
    digest = change.payload.digest
    ref = change.order_ref or change.payload.pos_order_id
    return (
        f"pos:{venue_id}:{change.action}:{hashlib.sha256(ref.encode()).hexdigest()[:16]}:{digest}"
    )


def _first_time(connection: Connection, caller: Caller, key: str, change: PosChange) -> bool:
    """Record the inbound event; False when it was recorded before (a retry or duplicate, here
    or committed by another process a moment ago: the insert does nothing on a conflict)."""
    return inbox.record(
        connection,
        partner_id=caller.partner_id,
        dedupe_key=key,
        kind=f"pos.order.{change.action}",
        venue_id=change.venue_id,
        correlation_id=change.correlation_id,
    )


def receive(
    caller: Caller, external_venue_id: str, change: PosChange
) -> Callable[[Session], tuple[str, Applied]]:
    """The job for one POS call; returns (our venue id, the answer for the POS)."""

    partner_id = caller.partner_id

    def job(session: Session) -> tuple[str, Applied]:
        connection = session.connection()
        cache = generations.current(connection)  # first: what it holds is then current
        venue_id = cache.get(
            ("venue", partner_id, external_venue_id),
            lambda: venues.resolve_external(
                connection, partner_id=partner_id, external_id=external_venue_id
            ),
        )
        if venue_id is None or caller.kind != "pos":  # never 403-with-a-hint
            raise NotFound("Unknown venue", details=field_details("venueId", "Unknown venue"))
        scoped = replace(change, venue_id=venue_id)
        if not _first_time(connection, caller, dedupe_key(venue_id, scoped), scoped):
            order = repo.load_order(
                repo.Rows(connection),
                venue_id=venue_id,
                ref=scoped.order_ref or scoped.payload.pos_order_id,
            )
            if order is not None:
                return venue_id, Applied(order.id, order.status)
        return venue_id, apply_pos_order(session, scoped, cache, connection)

    return job
