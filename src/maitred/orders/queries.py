"""Reading the orders maitred keeps (closed ones at least 45 days, for reconciliation and for
the operator): the admin API and `maitred orders list|show`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.errors import NotFound, field_details
from maitred.orders import repository as repo
from maitred.orders.models import Check, PosOrder
from maitred.orders.rules import OrderStatus
from maitred.orders.schemas import CheckRead, OrderPage, OrderRead
from maitred.reservations.models import Reservation
from maitred.venues.models import Venue


def list_orders(
    session: Session,
    venue_id: str,
    *,
    status: OrderStatus | None = None,
    changed_since: datetime | None = None,
    limit: int = 100,
) -> OrderPage:
    """The venue's orders (optionally of one status, changed since a moment), newest first."""
    if session.get(Venue, venue_id) is None:
        raise NotFound(f"Venue {venue_id} not found")
    statement = (
        select(PosOrder)
        .where(PosOrder.venue_id == venue_id)
        .order_by(PosOrder.updated_at.desc(), PosOrder.id)
        .limit(limit)
    )
    if status is not None:
        statement = statement.where(PosOrder.status == status)
    if changed_since is not None:
        statement = statement.where(PosOrder.updated_at >= changed_since)
    orders = list(session.scalars(statement))
    return OrderPage(venue_id=venue_id, items=_read(session, orders))


def get_order(session: Session, venue_id: str, ref: str) -> OrderRead:
    """One order by maitred's id or the POS's id (decision 2)."""
    order = repo.find_order(session, venue_id=venue_id, ref=ref)
    if order is None:
        message = f"Order {ref} not found at venue {venue_id}"
        raise NotFound(message, details=field_details("orderId", "Unknown order."))
    [read] = _read(session, [order])
    return read


def _read(session: Session, orders: list[PosOrder]) -> list[OrderRead]:
    """Orders with their checks and booking ids, in three queries whatever their number."""
    ids = [order.id for order in orders]
    checks: dict[str, list[Check]] = {order_id: [] for order_id in ids}
    for check in session.scalars(select(Check).where(Check.order_id.in_(ids)).order_by(Check.id)):
        checks[check.order_id].append(check)
    reservation_ids = {o.reservation_id for o in orders} | {
        c.reservation_id for cs in checks.values() for c in cs
    }
    rows = session.execute(
        select(Reservation.id, Reservation.booking_id).where(
            Reservation.id.in_([r for r in reservation_ids if r is not None])
        )
    )
    bookings = {reservation_id: booking_id for reservation_id, booking_id in rows}
    return [
        OrderRead(
            id=order.id,
            pos_order_id=order.pos_order_id,
            source=order.source,
            booking_id=bookings.get(order.reservation_id) if order.reservation_id else None,
            status=order.status,
            pos_tables=list(order.pos_tables),
            party_size=order.party_size,
            opened_at=order.opened_at,
            closed_at=order.closed_at,
            voided_at=order.voided_at,
            note=order.note,
            updated_at=order.updated_at,
            checks=[_check(check, order, bookings) for check in checks[order.id]],
        )
        for order in orders
    ]


def _check(check: Check, order: PosOrder, bookings: dict[int, str]) -> CheckRead:
    reservation_id = check.reservation_id or order.reservation_id
    return CheckRead(
        check_number=check.check_number,
        status=check.status,
        total_amount=check.total_amount,
        tax=check.tax,
        tip=check.tip,
        discount=check.discount,
        payment_method=check.payment_method,
        items=list(check.items),
        booking_id=bookings.get(reservation_id) if reservation_id is not None else None,
        announced=check.announced,
        opened_at=check.opened_at,
        closed_at=check.closed_at,
        voided_at=check.voided_at,
        updated_at=check.updated_at,
    )
