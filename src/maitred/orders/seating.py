"""What a reservation change means for the POS (decisions 6 and 7).

Seating opens a POS order — or links the booking to an order already open on its tables that no
other booking holds. Later changes (table move, party size, items) follow to the open order. A
cancellation after the order opened is flagged, never voided: money is the POS's call.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.capabilities import service as capabilities
from maitred.clock import now
from maitred.connectors.mozrest.pos_wire import CreateOrderRequest, PreOrderItem
from maitred.deliveries import service as deliveries
from maitred.flags import service as flags
from maitred.orders import events, linking
from maitred.orders import repository as repo
from maitred.orders.models import Check, PosOrder
from maitred.orders.rules import FINAL, OPEN, CheckState
from maitred.reservations.models import Reservation
from maitred.tables import service as tables

CANCELLED_STATUSES = frozenset({"cancelled", "canceled", "no-show", "no_show", "noshow"})
CREATE_KIND = linking.CREATE_KIND
UPDATE_KIND = "pos.update_order"
HELD_CHANGE = "order.change_held"  # a reservation change the POS could not take


@dataclass(frozen=True)
class SeatingOutcome:
    """What the reservation change did on the POS side."""

    action: str  # "none" | "held" | "linked" | "create_requested" | "update_requested" | "flagged"
    order_id: str | None = None


def on_reservation(
    session: Session, reservation: Reservation, *, correlation_id: str | None
) -> SeatingOutcome:
    """Apply the POS side of a stored reservation change (in the same transaction)."""
    _link_claimed_checks(session, reservation, correlation_id)
    order = session.scalar(
        select(PosOrder).where(
            PosOrder.reservation_id == reservation.id, PosOrder.status != "failed"
        )
    )
    status = reservation.status.strip().lower()
    seating = repo.seating_statuses(session, reservation.venue_id)
    if status in CANCELLED_STATUSES:
        if order is not None and order.status not in FINAL:
            flags.raise_flag(
                session,
                venue_id=reservation.venue_id,
                kind="booking.cancelled_after_open",
                subject=f"booking:{reservation.booking_id}",
                message=f"Booking {reservation.booking_id} was {status} but POS order "
                f"{order.pos_order_id or order.id} is open; it was not voided.",
            )
            return SeatingOutcome("flagged", order.id)
        return SeatingOutcome("none")
    if status not in seating and order is None:
        return SeatingOutcome("none")
    translation = tables.translate_rms_to_pos(
        session, venue_id=reservation.venue_id, rms_table_ids=list(reservation.rms_tables)
    )
    subject = f"booking:{reservation.booking_id}"
    if translation.missing:
        flags.raise_flag(
            session,
            venue_id=reservation.venue_id,
            kind="booking.held",
            subject=subject,
            message=f"Booking {reservation.booking_id} is held: no POS table mapped for "
            f"RMS table(s) {', '.join(translation.missing)}.",
            data={"missing": translation.missing},
        )
        return SeatingOutcome("held", order.id if order else None)
    flags.resolve(session, venue_id=reservation.venue_id, kind="booking.held", subject=subject)
    pos_tables = translation.pos_table_ids
    if order is None:
        linked = linking.link_open_order(session, reservation, pos_tables, correlation_id)
        if linked is not None:
            return SeatingOutcome("linked", linked.id)
        order = _new_order(session, reservation, pos_tables)
        # decision 7: a walk-in for these guests may still be on its way (`orders.linking`).
        request_create(session, order, reservation, correlation_id, delay=linking.WALK_IN_WINDOW)
        return SeatingOutcome("create_requested", order.id)
    if order.status in FINAL:
        return SeatingOutcome("none", order.id)
    return _follow_changes(session, order, reservation, pos_tables, correlation_id)


def follow(session: Session, reservation: Reservation, correlation_id: str | None) -> None:
    """Act on a stored booking change that can concern the POS (`orders.followups`)."""
    status = reservation.status.strip().lower()
    seating = repo.seating_statuses(session, reservation.venue_id)
    concerned = status in seating | CANCELLED_STATUSES or reservation.payload.get("checks")
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
    numbers = [str(number) for number in reservation.payload.get("checks") or []]
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
        status="requested",
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


def _pos_call(
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
    pos = repo.side(session, venue_id=order.venue_id, role="pos")
    if pos is None or not pos.base_url:
        flags.raise_flag(
            session,
            venue_id=order.venue_id,
            kind="venue.no_pos",
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


def _body_hash(body: CreateOrderRequest) -> str:
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
    """Ask the POS to open the order, `delay` seconds from now (decision 7's window)."""
    body = create_body(session, order, reservation, with_items=with_items)
    order.sent_hash = _body_hash(body)
    return _pos_call(
        session,
        order,
        kind=CREATE_KIND,
        method="POST",
        path="/orders",
        body=body.model_dump_json(exclude_none=True),
        correlation_id=correlation_id,
        delay=delay,
    )


def _follow_changes(
    session: Session,
    order: PosOrder,
    reservation: Reservation,
    pos_tables: list[str],
    correlation_id: str | None,
) -> SeatingOutcome:
    """Table move, party size or items changed: forward them to the open order."""
    order.pos_tables, order.party_size = pos_tables, reservation.party_size
    if _body_hash(create_body(session, order, reservation)) == order.sent_hash:
        return SeatingOutcome("none", order.id)
    order.updated_at = now()
    if order.pos_order_id is None:
        # The create is not answered yet; the answer's handler sends this update.
        order.needs_update = True
        return SeatingOutcome("update_requested", order.id)
    request_update(session, order, reservation, correlation_id)
    return SeatingOutcome("update_requested", order.id)


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
    order.sent_hash = _body_hash(body)
    return _pos_call(
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
    for flag in flags.open_flags(session, venue_id=venue_id):
        if flag.kind != HELD_CHANGE:
            continue
        flags.resolve(session, venue_id=venue_id, kind=HELD_CHANGE, subject=flag.subject)
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
        forwarded = forward_held_changes(session, venue_id=venue_id)
    return reset, forwarded


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
