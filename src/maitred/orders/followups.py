"""Booking follow-ups: what a stored reservation change means for the POS (decisions 6, 7),
applied after the webhook's commit by the worker, not inside the RMS's request.

The ingest transaction marks the reservation row (`followup_pending`, with the call's
correlation id): that mark is the change's outbox row, committed with it. `apply_pending`
takes marked rows oldest change first, applies `seating.follow` to each in a savepoint until
its time budget is spent, and clears the marks of those it followed in the same transaction.
A change stored meanwhile marks the row again, so nothing is missed; a booking changed three
times before its turn is followed once, in its newest state (the RMS sends full state). On
PostgreSQL the rows are claimed with `FOR UPDATE SKIP LOCKED`, so several workers share the
queue and never follow one booking at the same time.
"""

from __future__ import annotations

import time

import structlog
from sqlalchemy import Select, select, text, update
from sqlalchemy.orm import Session

from maitred.db.errors import database_unavailable
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.orders import seating
from maitred.reservations.models import Reservation

log = structlog.get_logger(__name__)

BATCH = 128  # reservations taken per writer job
# Writer time one job may spend following: past it, the rows not yet followed keep their mark
# for the next round, so a burst of bookings never holds the one writer for long (128 in one
# job held it ~0.5 s; docs/decisions/0011). Real time, not the scalable clock: it bounds work.
BUDGET_SECONDS = 0.02
# Spelled exactly as the partial index's WHERE: SQLite uses a partial index only for a term
# identical to it (`followup_pending IS 1` or `= 1` scanned and sorted the whole table).
PENDING = text("reservations.followup_pending")
FAILED_KIND = kinds.BOOKING_FOLLOWUP_FAILED


def pending_query(limit: int) -> Select[int, str | None]:
    """The oldest `limit` marked reservations, locked (PostgreSQL) so other workers skip them."""
    return (
        select(Reservation.id, Reservation.followup_correlation_id)
        .where(PENDING)
        .order_by(Reservation.updated_at, Reservation.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def apply_pending(session: Session, *, limit: int = BATCH, budget: float = BUDGET_SECONDS) -> int:
    """Follow up to `limit` marked reservations, oldest first, until `budget` seconds are
    spent, and clear the marks of those followed; how many were followed."""
    rows = session.execute(pending_query(limit)).all()
    deadline = time.perf_counter() + budget
    followed: list[int] = []
    for reservation_id, correlation_id in rows:
        _follow_one(session, reservation_id, correlation_id)
        followed.append(reservation_id)
        if time.perf_counter() > deadline:
            break
    if followed:
        session.execute(
            update(Reservation)
            .where(Reservation.id.in_(followed))
            .values(followup_pending=False)
            .execution_options(synchronize_session=False)
        )
    return len(followed)


def _follow_one(session: Session, reservation_id: int, correlation_id: str | None) -> None:
    """One reservation in a savepoint: a failure is flagged, never blocks the others."""
    try:
        with session.begin_nested():
            reservation = session.get(Reservation, reservation_id, populate_existing=True)
            if reservation is not None:
                seating.follow(session, reservation, correlation_id)
    except Exception as exc:
        if database_unavailable(exc):
            raise  # the database, not this booking: the whole job fails and is retried
        log.exception("booking follow-up failed", reservation_id=reservation_id)
        booking = session.scalar(
            select(Reservation.booking_id).where(Reservation.id == reservation_id)
        )
        venue_id = session.scalar(
            select(Reservation.venue_id).where(Reservation.id == reservation_id)
        )
        flags.raise_flag(
            session,
            venue_id=venue_id,
            kind=FAILED_KIND,
            subject=f"booking:{booking}",
            message=f"Booking {booking}: its change could not be applied to the POS side "
            f"({type(exc).__name__}); resend it from the RMS once the cause is fixed.",
        )
