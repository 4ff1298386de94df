"""Following a stored booking again without a new state from the RMS: the bookings held for
an unmapped table once a mapping appears, and one booking an operator retries.

An identical re-send from the RMS is deduplicated and changes nothing, so the hub does this
itself: it sets the booking's follow-up mark (the same mark a new state sets, keeping the
booking's correlation id), and the worker applies the booking as it is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maitred import signals
from maitred.db.writer import after_commit
from maitred.errors import NotFound
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.reservations.models import Reservation

BOOKING_PREFIX = "booking:"


@dataclass(frozen=True)
class Retried:
    """A booking queued for another follow-up."""

    venue_id: str
    booking_id: str
    status: str


def follow_again(session: Session, *, venue_id: str, booking_ids: Sequence[str]) -> int:
    """Mark these bookings of the venue for another follow-up; how many exist and were marked."""
    if not booking_ids:
        return 0
    result = session.execute(
        update(Reservation)
        .where(Reservation.venue_id == venue_id, Reservation.booking_id.in_(set(booking_ids)))
        .values(followup_pending=True)
        .execution_options(synchronize_session=False)
    )
    marked = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if marked:
        after_commit(session, signals.followups.notify)
    return marked


def release_held(session: Session, *, venue_id: str) -> int:
    """Follow every booking held at the venue again (a mapping appeared, a link changed); the
    ones that still cannot go stay held, the others go through. How many were marked."""
    held = flags.open_flags(session, venue_id=venue_id, kind=kinds.BOOKING_HELD)
    booking_ids = [
        flag.subject.removeprefix(BOOKING_PREFIX)
        for flag in held
        if flag.subject.startswith(BOOKING_PREFIX)
    ]
    return follow_again(session, venue_id=venue_id, booking_ids=booking_ids)


def retry_booking(session: Session, *, venue_id: str, booking_id: str) -> Retried:
    """An operator's retry of one booking (held, or whose follow-up failed); NotFound if the
    venue has no such booking."""
    status = session.scalar(
        select(Reservation.status).where(
            Reservation.venue_id == venue_id, Reservation.booking_id == booking_id
        )
    )
    if status is None:
        raise NotFound(f"No booking {booking_id!r} at venue {venue_id!r}")
    follow_again(session, venue_id=venue_id, booking_ids=[booking_id])
    return Retried(venue_id=venue_id, booking_id=booking_id, status=status)
