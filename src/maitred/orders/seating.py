"""What a reservation change means for the POS (decisions 6 and 7).

Seating opens a POS order — or links the booking to an order already open on its tables that no
other booking holds. Later changes (table move, party size, items) follow to the open order. A
cancellation after the order opened is flagged, never voided: money is the POS's call.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.orders import events, linking, pos_calls
from maitred.orders import repository as repo
from maitred.orders.models import Check, PosOrder
from maitred.orders.rules import FINAL, OPEN, CheckState, OrderStatus
from maitred.reservations import rules as booking
from maitred.reservations.models import Reservation
from maitred.tables import service as tables

CANCELLED_STATUSES = frozenset({"cancelled", "canceled", "no-show", "no_show", "noshow"})
# What a booking going through to the POS settles: held no more, seated again after a
# cancellation, followed without an error.
SETTLED_BY_SEATING = (
    kinds.BOOKING_HELD,
    kinds.BOOKING_CANCELLED_AFTER_OPEN,
    kinds.BOOKING_FOLLOWUP_FAILED,
)


def on_reservation(
    session: Session, reservation: Reservation, *, correlation_id: str | None
) -> None:
    """Apply the POS side of a stored reservation change (in the same transaction)."""
    _link_claimed_checks(session, reservation, correlation_id)
    order = session.scalar(
        select(PosOrder).where(
            PosOrder.reservation_id == reservation.id, PosOrder.status != OrderStatus.FAILED
        )
    )
    status = reservation.status.strip().lower()
    seating = repo.seating_statuses(session, reservation.venue_id)
    subject = f"booking:{reservation.booking_id}"
    if status in CANCELLED_STATUSES:
        _cancelled(session, reservation, order, status)
        return
    if status not in seating and order is None:
        return
    translation = tables.translate_rms_to_pos(
        session, venue_id=reservation.venue_id, rms_table_ids=list(reservation.rms_tables)
    )
    if translation.missing:
        missing = ", ".join(translation.missing)
        why = f"no POS table mapped for RMS table(s) {missing}"
        _hold(session, reservation, order, why, {"missing": translation.missing})
        return
    # One statement settles what a booking going through settles (it runs for every seated
    # booking, so no more than the one lookup it replaced).
    flags.settle(
        session,
        venue_id=reservation.venue_id,
        kinds=SETTLED_BY_SEATING,
        subjects=[subject],
        by="booking went through",
    )
    pos_tables = translation.table_ids
    if order is None:
        if linking.link_open_order(session, reservation, pos_tables, correlation_id) is not None:
            return
        order = _new_order(session, reservation, pos_tables)
        # decision 7: a walk-in for these guests may still be on its way (`orders.linking`).
        created = pos_calls.request_create(
            session, order, reservation, correlation_id, delay=linking.WALK_IN_WINDOW
        )
        if created is None:
            # No POS to call (flagged `venue.no_pos`): no order either, the booking waits and
            # goes through when the venue's links change.
            session.delete(order)
            session.flush()
            why = "the venue has no POS partner with a base URL whose contract opens orders"
            _hold(session, reservation, None, why)
        return
    if order.status in FINAL:
        return
    _follow_changes(session, order, reservation, pos_tables, correlation_id)


def _cancelled(
    session: Session, reservation: Reservation, order: PosOrder | None, status: str
) -> None:
    """decision 6: a cancellation never voids an open POS order; it is flagged instead. A held
    booking that is cancelled holds nothing any more."""
    subject = f"booking:{reservation.booking_id}"
    flags.settle(
        session,
        venue_id=reservation.venue_id,
        kinds=[kinds.BOOKING_HELD, kinds.BOOKING_FOLLOWUP_FAILED],
        subjects=[subject],
        by=f"booking {status}",
    )
    if order is None or order.status in FINAL:
        return
    flags.raise_flag(
        session,
        venue_id=reservation.venue_id,
        kind=kinds.BOOKING_CANCELLED_AFTER_OPEN,
        subject=subject,
        message=f"Booking {reservation.booking_id} was {status} but POS order "
        f"{order.pos_order_id or order.id} is open; it was not voided.",
    )
    return


def _hold(
    session: Session,
    reservation: Reservation,
    order: PosOrder | None,
    why: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Hold the booking and show it: it goes through by itself once the cause is gone."""
    flags.raise_flag(
        session,
        venue_id=reservation.venue_id,
        kind=kinds.BOOKING_HELD,
        subject=f"booking:{reservation.booking_id}",
        message=f"Booking {reservation.booking_id} is held: {why}.",
        data=data,
    )
    return


def follow(session: Session, reservation: Reservation, correlation_id: str | None) -> None:
    """Act on a stored booking change that can concern the POS (`orders.followups`)."""
    status = reservation.status.strip().lower()
    seating = repo.seating_statuses(session, reservation.venue_id)
    claims = booking.claimed_checks(reservation.payload)
    concerned = status in seating | CANCELLED_STATUSES or claims
    if concerned or _has_order(session, reservation.id):
        on_reservation(session, reservation, correlation_id=correlation_id)


def _has_order(session: Session, reservation_id: int) -> bool:
    found = session.scalar(
        select(PosOrder.id).where(PosOrder.reservation_id == reservation_id).limit(1)
    )
    return found is not None


def _link_claimed_checks(
    session: Session, reservation: Reservation, correlation_id: str | None
) -> None:
    """Checks the RMS lists in `checks[]` belong to this booking (multi-check); a check the POS
    has not reported yet is linked when it arrives (`orders.service`)."""
    numbers = booking.claimed_checks(reservation.payload)
    if not numbers:
        return
    venue_id = reservation.venue_id
    repo.claim_checks(session, venue_id=venue_id, numbers=numbers, reservation_id=reservation.id)
    found = repo.checks_by_number(session, venue_id=venue_id, numbers=numbers)
    announcers: dict[str, events.Announcer] = {}
    for check in found.values():
        if check.reservation_id == reservation.id:
            continue
        check.reservation_id = reservation.id
        order = session.get(PosOrder, check.order_id)
        if order is not None and check.announced:
            if order.id not in announcers:
                announcers[order.id] = events.Announcer(session, order, correlation_id)
            announcers[order.id].add(check, "update")
    for announcer in announcers.values():
        announcer.send()


def _new_order(session: Session, reservation: Reservation, pos_tables: list[str]) -> PosOrder:
    at = now()
    order = PosOrder(
        id=str(uuid.uuid4()),
        venue_id=reservation.venue_id,
        source="booking",
        reservation_id=reservation.id,
        status=OrderStatus.REQUESTED,
        pos_tables=pos_tables,
        party_size=reservation.party_size,
        date=reservation.date,
        needs_update=False,
        created_at=at,
        updated_at=at,
    )
    session.add(order)
    session.flush()
    return order


def _follow_changes(
    session: Session,
    order: PosOrder,
    reservation: Reservation,
    pos_tables: list[str],
    correlation_id: str | None,
) -> None:
    """Table move, party size or items changed: forward them to the open order."""
    order.pos_tables, order.party_size = pos_tables, reservation.party_size
    if pos_calls.unchanged(session, order, reservation):
        return
    order.updated_at = now()
    if order.pos_order_id is None:
        # The create is not answered yet; the answer's handler sends this update.
        order.needs_update = True
        return
    pos_calls.request_update(session, order, reservation, correlation_id)
    return


def check_for_new_order(session: Session, order: PosOrder, check_number: str) -> Check:
    """The first check the POS opened for an order maitred created."""
    at = now()
    check = repo.check_by_number(session, venue_id=order.venue_id, number=check_number)
    if check is None:
        check = Check(
            order_id=order.id,
            venue_id=order.venue_id,
            check_number=check_number,
            status=OPEN,
            items=[],
            content_hash=CheckState(check_number=check_number, status=OPEN).content_hash(),
            announced=False,
            opened_at=at,
            updated_at=at,
        )
        session.add(check)
        session.flush()
    return check
