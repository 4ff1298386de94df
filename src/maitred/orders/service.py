"""Applying what a POS tells maitred about an order (create, update, close, void).

Runs inside the writer job of the inbound call: the order and check rows, and the pos_order
events they cause, are committed together before the POS gets its answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.errors import NotFound, field_details
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.orders import events, linking
from maitred.orders import repository as repo
from maitred.orders.models import Check
from maitred.orders.models import PosOrder as PosOrderRow
from maitred.orders.ports import OrderReport
from maitred.orders.rules import CLOSED, FINAL, VOID, CheckState, OrderStatus, Stored, judge


@dataclass(frozen=True)
class PosChange:
    """One POS call: which action, on which order, carrying which state."""

    venue_id: str
    action: str  # "create" | "update" | "close" | "void"
    payload: OrderReport
    order_ref: str | None = None
    correlation_id: str | None = None


@dataclass(frozen=True)
class Applied:
    """What maitred answers the POS: its id of the order and the order's status."""

    order_id: str
    status: str


def apply_pos_order(session: Session, change: PosChange) -> Applied:
    """Store the POS's state of an order and enqueue the pos_order events it produces."""
    order = _resolve(session, change)
    at = now()
    stale = (
        change.payload.updated_at is not None
        and order.pos_updated_at is not None
        and change.payload.updated_at < order.pos_updated_at
    )
    if stale or (order.status in FINAL and change.action != "void"):
        # decision 10: an older state never overwrites a newer one; a closed order stays closed.
        return Applied(order.id, order.status)
    ended = order.status not in FINAL
    _update_order(order, change, at)
    if ended and order.status in FINAL:
        _settle_ended(session, order)
    checks = _CheckWriter(session, order, change, at)
    updated_at = change.payload.updated_at or at
    for reported in change.payload.checks:
        status = VOID if change.action == "void" else reported.status
        checks.apply(replace(reported, status=status, updated_at=updated_at))
    if change.action == "void":
        for check in repo.checks_of(session, order.id):
            if check.status != VOID:
                checks.apply(_as_state(check, VOID, at), check)
    checks.finish()
    return Applied(order.id, order.status)


def _settle_ended(session: Session, order: PosOrderRow) -> None:
    """An order that ended (closed or voided in the POS) settles the flags it made moot: its
    failed or held updates, its absence from the POS, and a cancellation after it opened."""
    by = f"the POS order was {order.status}"
    flags.settle(
        session,
        venue_id=order.venue_id,
        kinds=kinds.ENDED_WITH_ORDER,
        subjects=[f"order:{order.id}"],
        by=by,
    )
    booking_id = repo.booking_id_of(session, order.reservation_id)
    if booking_id is not None:
        flags.resolve(
            session,
            venue_id=order.venue_id,
            kind=kinds.BOOKING_CANCELLED_AFTER_OPEN,
            subject=f"booking:{booking_id}",
            by=by,
        )


def _resolve(session: Session, change: PosChange) -> PosOrderRow:
    pos_order_id = change.payload.pos_order_id
    refs = [r for r in (change.order_ref, pos_order_id) if r]
    for ref in refs:
        found = repo.find_order(session, venue_id=change.venue_id, ref=ref)
        if found is not None:
            if found.pos_order_id is None:
                found.pos_order_id = pos_order_id
            return found
    if change.action != "create":
        raise NotFound(
            "Unknown order", details=field_details("orderId", f"No order {change.order_ref!r}")
        )
    tables = list(change.payload.tables or [])
    booked = linking.booking_order_for_walk_in(
        session, venue_id=change.venue_id, pos_order_id=pos_order_id, pos_tables=tables
    )
    if booked is not None:  # decision 7: the booking came first; this walk-in is its order
        return booked
    at = now()
    order = PosOrderRow(
        id=str(uuid.uuid4()),
        venue_id=change.venue_id,
        pos_order_id=pos_order_id,
        source="pos",
        status=OrderStatus.OPEN,
        pos_tables=tables,
        opened_at=at,
        needs_update=False,
        created_at=at,
        updated_at=at,
    )
    session.add(order)
    session.flush()
    return order


def _update_order(order: PosOrderRow, change: PosChange, at: datetime) -> None:
    payload = change.payload
    if payload.tables:
        order.pos_tables = list(payload.tables)
    if payload.party_size is not None:
        order.party_size = payload.party_size
    if order.status == OrderStatus.REQUESTED:
        order.status = OrderStatus.OPEN
    if change.action == "close" or payload.status == OrderStatus.CLOSED:
        order.status, order.closed_at = OrderStatus.CLOSED, order.closed_at or at
    if change.action == "void":
        order.status, order.voided_at = OrderStatus.VOID, order.voided_at or at
    order.pos_updated_at = payload.updated_at or at
    order.updated_at = at


def _as_state(check: Check, status: str, at: datetime | None) -> CheckState:
    return CheckState(
        check_number=check.check_number,
        status=status,
        total_amount=check.total_amount,
        tax=check.tax,
        tip=check.tip,
        discount=check.discount,
        payment_method=check.payment_method,
        items=tuple(tuple(sorted(item.items())) for item in check.items),
        updated_at=at,
    )


class _CheckWriter:
    """Applies one POS call's check states: one query for the stored checks, one for the
    claims, one flush, and the events enqueued together. (Check by check, a 100-check order
    cost five round trips per check and held the writer for the whole of them.)"""

    def __init__(self, session: Session, order: PosOrderRow, change: PosChange, at: datetime):
        self.session, self.order, self.at = session, order, at
        numbers = [check.check_number for check in change.payload.checks]
        venue_id = order.venue_id
        self.stored = repo.checks_by_number(session, venue_id=venue_id, numbers=numbers)
        unknown = [number for number in numbers if number not in self.stored]
        # decision 7: a booking may have claimed a number before the POS reported it.
        self.claims = repo.claimants_of(session, venue_id=venue_id, numbers=unknown)
        self.events = events.Announcer(session, order, change.correlation_id)

    def apply(self, state: CheckState, check: Check | None = None) -> None:
        """Judge one check's new state against the stored one; store it and note its event."""
        check = check or self.stored.get(state.check_number)
        stored = None
        if check is not None:
            stored = Stored(_as_state(check, check.status, check.pos_updated_at), check.announced)
        verdict = judge(stored, state)
        if not verdict.accept:
            return
        check = self.stored[state.check_number] = self._store(check, state)
        if verdict.event is not None:
            self.events.add(check, verdict.event)

    def finish(self) -> None:
        """Write the stored checks and the events they produced."""
        self.session.flush()
        self.events.send()

    def _store(self, check: Check | None, state: CheckState) -> Check:
        order, at = self.order, self.at
        if check is None:
            check = Check(
                order_id=order.id,
                venue_id=order.venue_id,
                check_number=state.check_number,
                reservation_id=self.claims.get(state.check_number),
                announced=False,
                opened_at=at,
            )
            self.session.add(check)
        check.order_id = order.id
        check.status = state.status
        check.total_amount, check.tax = state.total_amount, state.tax
        check.tip, check.discount = state.tip, state.discount
        check.payment_method = state.payment_method
        check.items = [dict(item) for item in state.items]
        check.content_hash = state.content_hash()
        check.pos_updated_at = state.updated_at
        check.updated_at = at
        if state.status == CLOSED:
            check.closed_at = check.closed_at or at
        if state.status == VOID:
            check.voided_at = check.voided_at or at
        return check
