"""What maitred asks of a venue's POS for a booking (decision 4): the open-order and change
calls as deliveries, built by the POS's contract, and holding changes a POS without order
updates cannot take.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from maitred.capabilities import features
from maitred.capabilities import service as capabilities
from maitred.deliveries import service as deliveries
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.orders import repository as repo
from maitred.orders.models import PosOrder
from maitred.orders.ports import OrderRequest, OutboundCall, PosAdapter, PreOrder
from maitred.orders.rules import FINAL
from maitred.partners import contracts
from maitred.reservations import rules as booking
from maitred.reservations.models import Reservation

CREATE_KIND = "pos.create_order"
UPDATE_KIND = "pos.update_order"
HELD_CHANGE = kinds.ORDER_CHANGE_HELD  # a reservation change the POS could not take
FORWARDED = "change sent again after the orders.update capability reset"
ORDER_KEY = "order:"  # every call about an order is ordered by `order:{id}`


def order_request(session: Session, order: PosOrder, reservation: Reservation) -> OrderRequest:
    """What maitred asks the POS for the booking: POS table ids, the seating time in the
    venue's zone, the guest, the prepayment and the pre-ordered items."""
    guest = booking.guest(reservation.payload)
    zone = ZoneInfo(repo.venue_timezone(session, order.venue_id))
    return OrderRequest(
        order_id=order.id,
        tables=list(order.pos_tables),
        seated_at=datetime.fromtimestamp(reservation.date, UTC).astimezone(zone),
        party_size=reservation.party_size,
        guest_name=guest.name,
        guest_email=guest.email,
        guest_telephone=guest.telephone,
        prepayment=booking.prepayment(reservation.payload),
        items=[
            PreOrder(sku=item["sku"], quantity=item["quantity"], notes=item.get("notes"))
            for item in reservation.items or []
        ],
    )


@dataclass(frozen=True)
class PosRoute:
    """The venue's POS as maitred calls it: who, at which base URL, through which adapter."""

    partner_id: str
    external_venue_id: str
    base_url: str
    adapter: PosAdapter


def pos_route(session: Session, venue_id: str, feature: str) -> PosRoute | None:
    """The venue's POS when it has a base URL and its contract has `feature`."""
    pos = repo.side(session, venue_id=venue_id, role="pos")
    adapter = contracts.pos_of(pos.contract) if pos is not None else None
    if pos is None or not pos.base_url or adapter is None or feature not in adapter.features:
        return None
    return PosRoute(pos.partner_id, pos.external_venue_id, pos.base_url.rstrip("/"), adapter)


def pos_call(
    session: Session,
    order: PosOrder,
    route: PosRoute,
    call: OutboundCall,
    *,
    kind: str,
    correlation_id: str | None,
    delay: float = 0.0,
) -> int:
    """Enqueue one call to the venue's POS, `delay` seconds from now."""
    endpoint_id = deliveries.ensure_endpoint(
        session, partner_id=route.partner_id, name="api", url=route.base_url
    )
    order.sent_hash = call.digest
    return deliveries.enqueue(
        session,
        endpoint_id=endpoint_id,
        partner_id=route.partner_id,
        kind=kind,
        method=call.method,
        url=f"{route.base_url}{call.path}",
        body=call.body,
        venue_id=order.venue_id,
        ordering_key=f"{ORDER_KEY}{order.id}",
        coalesce_key=f"{ORDER_KEY}{order.id}:{kind}",
        correlation_id=correlation_id,
        delay=delay,
    )


def _no_pos(session: Session, venue_id: str) -> None:
    flags.raise_flag(
        session,
        venue_id=venue_id,
        kind=kinds.VENUE_NO_POS,
        subject=f"venue:{venue_id}",
        message="The venue has no POS partner with a base URL whose contract opens orders; "
        "orders cannot open.",
    )


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
    window, `orders.linking`); None (and `venue.no_pos`) when the venue has no POS to ask."""
    route = pos_route(session, order.venue_id, features.ORDERS_CREATE)
    if route is None:
        _no_pos(session, order.venue_id)
        return None
    request = order_request(session, order, reservation)
    if not with_items:
        request = replace(request, items=())
    call = route.adapter.open_order(route.external_venue_id, request)
    return pos_call(
        session, order, route, call, kind=CREATE_KIND, correlation_id=correlation_id, delay=delay
    )


def unchanged(session: Session, order: PosOrder, reservation: Reservation) -> bool:
    """True when the POS was last asked exactly what the booking asks now."""
    route = pos_route(session, order.venue_id, features.ORDERS_CREATE)
    if route is None or order.sent_hash is None:
        return False
    request = order_request(session, order, reservation)
    return route.adapter.open_order(route.external_venue_id, request).digest == order.sent_hash


def request_update(
    session: Session, order: PosOrder, reservation: Reservation, correlation_id: str | None
) -> int | None:
    """decision 4: ask the POS to bring its open order to the booking's state.

    A POS known not to take updates (its contract has none, or its answers showed it) is not
    called: the change is held and flagged, and goes out when an operator resets the
    capability (`forward_held_changes`).
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
    route = pos_route(session, order.venue_id, features.ORDERS_UPDATE)
    if route is None:
        if pos_route(session, order.venue_id, features.ORDERS_CREATE) is None:
            _no_pos(session, order.venue_id)
        else:
            hold_change(session, order)  # its contract has no order updates
        return None
    request = order_request(session, order, reservation)
    call = route.adapter.change_order(route.external_venue_id, str(order.pos_order_id), request)
    return pos_call(session, order, route, call, kind=UPDATE_KIND, correlation_id=correlation_id)


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
