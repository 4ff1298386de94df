"""decision 7: a seated booking and a walk-in on the same tables are one POS order, whichever of
the two reaches maitred first.

Booking first with the walk-in already stored: the booking links to the walk-in's order.
Walk-in first at the POS but later at maitred (its call retried, held, or slower than the
RMS's): the booking's create waits `WALK_IN_WINDOW` before it leaves, and a walk-in arriving on
its tables meanwhile becomes the booking's order and the create is withdrawn. A walk-in that
arrives after the create left is flagged: the POS has two orders, and only a person can tell
which one the guests sit at.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.deliveries import service as deliveries
from maitred.deliveries.models import Endpoint
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.orders import events
from maitred.orders import repository as repo
from maitred.orders.models import PosOrder
from maitred.orders.pos_calls import CREATE_KIND, ORDER_KEY
from maitred.orders.rules import FINAL, OrderStatus
from maitred.reservations.models import Reservation

# Seconds a seated booking's create waits before it is sent: a walk-in the POS opened for the
# same guests a moment earlier, whose call reaches maitred late, still becomes the booking's.
WALK_IN_WINDOW = 2.0
RACED = kinds.ORDER_WALK_IN_RACED


def link_open_order(
    session: Session, reservation: Reservation, pos_tables: list[str], correlation_id: str | None
) -> PosOrder | None:
    """An open order on the booking's tables that no other booking holds, now the booking's;
    the newest first (an older one may be a table's earlier guests, left open in the POS)."""
    wanted = set(pos_tables)
    candidates = session.scalars(
        select(PosOrder)
        .where(
            PosOrder.venue_id == reservation.venue_id,
            PosOrder.status == OrderStatus.OPEN,
            PosOrder.reservation_id.is_(None),
        )
        .order_by(PosOrder.created_at.desc(), PosOrder.id.desc())
    )
    for order in candidates:
        if wanted & set(order.pos_tables):
            order.reservation_id = reservation.id
            order.updated_at = now()
            announcer = events.Announcer(session, order, correlation_id)
            for check in repo.checks_of(session, order.id):
                if check.announced and check.status not in FINAL:
                    announcer.add(check, "update")
            announcer.send()
            return order
    return None


def booking_order_for_walk_in(
    session: Session, *, venue_id: str, pos_order_id: str, pos_tables: list[str]
) -> PosOrder | None:
    """The order of a booking seated on these tables whose create has not left yet, which the
    walk-in becomes (the create withdrawn); None otherwise (a raced one is flagged)."""
    wanted = set(pos_tables)
    waiting = [
        order
        for order in session.scalars(
            select(PosOrder)
            .where(
                PosOrder.venue_id == venue_id,
                PosOrder.status == OrderStatus.REQUESTED,
                PosOrder.pos_order_id.is_(None),
                PosOrder.reservation_id.is_not(None),
            )
            .order_by(PosOrder.created_at.desc())
        )
        if wanted & set(order.pos_tables)
    ]
    for order in waiting:
        if _withdraw_create(session, order):
            order.pos_order_id = pos_order_id
            order.opened_at = order.opened_at or now()
            order.needs_update = False
            order.sent_hash = None  # nothing was sent: the booking's next change goes out
            return order
    for order in waiting:
        _flag_race(session, order, pos_order_id)
    return None


def _withdraw_create(session: Session, order: PosOrder) -> bool:
    pos = repo.side(session, venue_id=order.venue_id, role="pos")
    if pos is None:
        return False
    endpoint_id = session.scalar(
        select(Endpoint.id).where(Endpoint.partner_id == pos.partner_id, Endpoint.name == "api")
    )
    if endpoint_id is None:
        return False
    taken = deliveries.withdraw_unsent(
        session, endpoint_id=endpoint_id, ordering_key=f"{ORDER_KEY}{order.id}", kind=CREATE_KIND
    )
    return taken > 0


def _flag_race(session: Session, order: PosOrder, pos_order_id: str) -> None:
    booking = repo.booking_id_of(session, order.reservation_id)
    flags.raise_flag(
        session,
        venue_id=order.venue_id,
        kind=RACED,
        subject=f"order:{order.id}",
        message=f"Walk-in {pos_order_id} reached maitred after booking {booking}'s order "
        f"{order.id} was sent to the POS on the same table(s) "
        f"({', '.join(order.pos_tables)}): the POS may hold two orders for one party; "
        "close or void the one not used.",
        data={"walkIn": pos_order_id, "bookingOrder": order.id},
    )
