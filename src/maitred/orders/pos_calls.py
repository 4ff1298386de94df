"""What maitred asks of a venue's POS for a booking (decision 4): the create-order and update
calls as deliveries, and holding changes a POS without order updates cannot take.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from maitred.capabilities import service as capabilities
from maitred.connectors.mozrest.pos_wire import CreateOrderRequest, PreOrderItem
from maitred.deliveries import service as deliveries
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.orders import repository as repo
from maitred.orders.models import PosOrder
from maitred.orders.rules import FINAL
from maitred.reservations.models import Reservation

CREATE_KIND = "pos.create_order"
UPDATE_KIND = "pos.update_order"
HELD_CHANGE = kinds.ORDER_CHANGE_HELD  # a reservation change the POS could not take
FORWARDED = "change sent again after the orders.update capability reset"


def create_body(
    session: Session, order: PosOrder, reservation: Reservation, *, with_items: bool = True
) -> CreateOrderRequest:
    """The POS create-order body: POS table ids, local seating time, guest, prepayment, items."""
    payload: dict[str, Any] = reservation.payload
    contact = payload.get("contact") or {}
    name = " ".join(p for p in (contact.get("firstname"), contact.get("lastname")) if p) or None
    zone = ZoneInfo(repo.venue_timezone(session, order.venue_id))
    seated = datetime.fromtimestamp(reservation.date, UTC).astimezone(zone)
    items = [PreOrderItem.model_validate(i) for i in (reservation.items or [])]
    return CreateOrderRequest(
        id=order.id,
        tables=list(order.pos_tables),
        guestName=name,
        guestEmail=contact.get("email"),
        guestTelephone=contact.get("telephone"),
        partySize=reservation.party_size,
        prepayment=payload.get("prepayment"),
        date=seated.strftime("%Y-%m-%d %H:%M:%S"),  # decision 5: venue-local Y-m-d H:i:s
        items=(items or None) if with_items else None,
    )


def pos_call(
    session: Session,
    order: PosOrder,
    *,
    kind: str,
    method: str,
    path: str,
    body: str,
    correlation_id: str | None,
    delay: float = 0.0,
) -> int | None:
    """Enqueue one call to the venue's POS, `delay` seconds from now; None (and
    `venue.no_pos`) when it has none."""
    pos = repo.side(session, venue_id=order.venue_id, role="pos")
    if pos is None or not pos.base_url:
        flags.raise_flag(
            session,
            venue_id=order.venue_id,
            kind=kinds.VENUE_NO_POS,
            subject=f"venue:{order.venue_id}",
            message="The venue has no POS partner with a base URL; orders cannot open.",
        )
        return None
    base = pos.base_url.rstrip("/")
    endpoint_id = deliveries.ensure_endpoint(
        session, partner_id=pos.partner_id, name="api", url=base
    )
    return deliveries.enqueue(
        session,
        endpoint_id=endpoint_id,
        partner_id=pos.partner_id,
        kind=kind,
        method=method,
        url=f"{base}/venue/{pos.external_venue_id}{path}",
        body=body,
        venue_id=order.venue_id,
        ordering_key=f"order:{order.id}",
        coalesce_key=f"order:{order.id}:{kind}",
        correlation_id=correlation_id,
        delay=delay,
    )


def body_hash(body: CreateOrderRequest) -> str:
    return hashlib.sha256(body.model_dump_json(exclude={"id"}).encode()).hexdigest()


def request_create(
    session: Session,
    order: PosOrder,
    reservation: Reservation,
    correlation_id: str | None,
    *,
    with_items: bool = True,
    delay: float = 0.0,
) -> int | None:
    """Ask the POS to open `order` for the booking, `delay` seconds from now (decision 7's
    window, `orders.linking`); None when the venue has no POS to ask."""
    body = create_body(session, order, reservation, with_items=with_items)
    order.sent_hash = body_hash(body)
    return pos_call(
        session,
        order,
        kind=CREATE_KIND,
        method="POST",
        path="/orders",
        body=body.model_dump_json(exclude_none=True),
        correlation_id=correlation_id,
        delay=delay,
    )


def request_update(
    session: Session, order: PosOrder, reservation: Reservation, correlation_id: str | None
) -> int | None:
    """decision 4: `PUT /venue/{venueId}/orders/{orderId}` with the create-order body.

    A POS known not to take updates is not called: the change is held and flagged, and goes
    out when an operator resets the capability (`forward_held_changes`).
    """
    order.needs_update = False
    pos = repo.side(session, venue_id=order.venue_id, role="pos")
    if pos is not None and capabilities.is_missing(
        session,
        venue_id=order.venue_id,
        partner_id=pos.partner_id,
        feature=capabilities.ORDERS_UPDATE,
    ):
        hold_change(session, order)
        return None
    body = create_body(session, order, reservation)
    order.sent_hash = body_hash(body)
    return pos_call(
        session,
        order,
        kind=UPDATE_KIND,
        method="PUT",
        path=f"/orders/{order.pos_order_id}",
        body=body.model_dump_json(exclude_none=True),
        correlation_id=correlation_id,
    )


def hold_change(session: Session, order: PosOrder) -> None:
    """Flag the order: the booking changed but the POS cannot be told (decision 4)."""
    # Forget what was sent, so the next look at the booking sees a change to forward.
    order.sent_hash = None
    flags.raise_flag(
        session,
        venue_id=order.venue_id,
        kind=HELD_CHANGE,
        subject=f"order:{order.id}",
        message=f"A reservation change to POS order {order.pos_order_id or order.id} was not "
        "forwarded: the POS does not accept order updates. It goes out when the "
        "orders.update capability is reset.",
        data={"tables": list(order.pos_tables), "partySize": order.party_size},
    )


def forward_held_changes(
    session: Session, *, venue_id: str, correlation_id: str | None = None
) -> int:
    """Send the held changes of the venue's open orders again; how many were requested."""
    sent = 0
    for flag in flags.open_flags(session, venue_id=venue_id, kind=HELD_CHANGE):
        flags.resolve(
            session, venue_id=venue_id, kind=HELD_CHANGE, subject=flag.subject, by=FORWARDED
        )
        order = session.get(PosOrder, flag.subject.removeprefix("order:"))
        if order is None or order.status in FINAL or order.reservation_id is None:
            continue
        reservation = session.get(Reservation, order.reservation_id)
        if reservation is None or order.pos_order_id is None:
            continue
        if request_update(session, order, reservation, correlation_id) is not None:
            sent += 1
    return sent


def reset_capability(session: Session, *, venue_id: str, feature: str | None) -> tuple[int, int]:
    """Forget what the venue's partners showed of `feature` (or of every feature) so the next
    call tries again; held order changes go out at once. (features reset, updates requested)"""
    reset = capabilities.reset(session, venue_id=venue_id, feature=feature)
    forwarded = 0
    if feature in (None, capabilities.ORDERS_UPDATE):
        flags.resolve(
            session,
            venue_id=venue_id,
            kind=kinds.POS_UPDATE_UNSUPPORTED,
            subject=f"venue:{venue_id}",
            by=f"{capabilities.ORDERS_UPDATE} capability reset",
        )
        forwarded = forward_held_changes(session, venue_id=venue_id)
    return reset, forwarded
