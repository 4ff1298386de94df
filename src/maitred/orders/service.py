"""Applying what a POS tells maitred about an order (create, update, close, void).

Runs inside the writer job of the inbound call: the order and check rows, and the pos_order
events they cause, are committed together before the POS gets its answer.

The path is plain SQL on the job's connection (docs/decisions/0030): the order and the
reported checks are read as rows (two statements), each check's new state is compared with the
stored one by its content hash before anything is written (an unchanged check writes and sends
nothing), the order is written with one statement and the checks with one per kind (insert,
update), and the events are built from the rows as stored, with the venue's routing served
from the process's cache (`maitred.db.generations`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from maitred.clock import now
from maitred.db import generations
from maitred.errors import NotFound, field_details
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.orders import events, linking
from maitred.orders import repository as repo
from maitred.orders.models import Check
from maitred.orders.models import PosOrder as PosOrderModel
from maitred.orders.ports import OrderReport
from maitred.orders.repository import CheckRow, OrderRow, Rows
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


def apply_pos_order(
    session: Session,
    change: PosChange,
    cache: generations.Cache | None = None,
    connection: Connection | None = None,
) -> Applied:
    """Store the POS's state of an order and enqueue the pos_order events it produces.

    `cache`: the routing cache the job checked already (`generations.current`), if it did;
    `connection`: the session's, if the job has it (asking the session costs ~30 µs)."""
    session.flush()  # what the job changed through the ORM, before reading rows
    rows = Rows(connection or session.connection())
    order, learnt_id = _resolve(session, rows, change)
    at = now()
    stale = (
        change.payload.updated_at is not None
        and order.pos_updated_at is not None
        and change.payload.updated_at < order.pos_updated_at
    )
    if stale or (order.status in FINAL and change.action != "void"):
        # decision 10: an older state never overwrites a newer one; a closed order stays closed.
        if learnt_id:
            repo.set_pos_order_id(rows, order.id, order.pos_order_id)
            _forget(session, order.id, [])
        return Applied(order.id, order.status)
    ended = order.status not in FINAL
    _update_order(order, change, at)
    repo.update_order(rows, order)
    if ended and order.status in FINAL:
        _settle_ended(session, order)
    checks = _CheckWriter(session, rows, order, change, at, cache)
    updated_at = change.payload.updated_at or at
    for reported in change.payload.checks:
        status = VOID if change.action == "void" else reported.status
        checks.apply(replace(reported, status=status, updated_at=updated_at))
    if change.action == "void":
        for check in repo.check_rows_of(rows, order.id):
            current = checks.current(check)
            if current.status != VOID:
                checks.apply(_as_state(current, VOID, at), current)
    checks.finish()
    _forget(session, order.id, checks.written_ids)
    return Applied(order.id, order.status)


def _forget(session: Session, order_id: str, check_ids: list[int]) -> None:
    """Expire the ORM's copies of rows written here in plain SQL, if this session holds any
    (a reconcile job reads them through the ORM before and after applying)."""
    held = session.identity_map
    if not len(held):
        return
    keys: list[Any] = [identity_key(PosOrderModel, order_id)]
    keys += [identity_key(Check, check_id) for check_id in check_ids]
    for key in keys:
        instance = held.get(key)
        if instance is not None:
            session.expire(instance)


def _settle_ended(session: Session, order: OrderRow) -> None:
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


def _resolve(session: Session, rows: Rows, change: PosChange) -> tuple[OrderRow, bool]:
    """The order the call is about, and whether this call told maitred its POS id."""
    pos_order_id = change.payload.pos_order_id
    refs = [r for r in (change.order_ref, pos_order_id) if r]
    for ref in refs:
        found = repo.load_order(rows, venue_id=change.venue_id, ref=ref)
        if found is not None:
            learnt = found.pos_order_id is None
            if learnt:
                found.pos_order_id = pos_order_id
            return found, learnt
    if change.action != "create":
        raise NotFound(
            "Unknown order", details=field_details("orderId", f"No order {change.order_ref!r}")
        )
    tables = list(change.payload.tables or [])
    booked = linking.booking_order_for_walk_in(
        session, venue_id=change.venue_id, pos_order_id=pos_order_id, pos_tables=tables
    )
    if booked is not None:  # decision 7: the booking came first; this walk-in is its order
        session.flush()
        found = repo.load_order(rows, venue_id=change.venue_id, ref=booked.id)
        if found is None:  # pragma: no cover - flushed just above
            raise NotFound("Unknown order")
        return found, False
    at = now()
    order = OrderRow(
        id=str(uuid.uuid4()),
        venue_id=change.venue_id,
        pos_order_id=pos_order_id,
        reservation_id=None,
        status=OrderStatus.OPEN,
        pos_tables=tables,
        party_size=None,
        date=None,
        opened_at=at,
        closed_at=None,
        voided_at=None,
        pos_updated_at=None,
        updated_at=at,
    )
    repo.insert_order(rows, order, at=at)
    return order, False


def _update_order(order: OrderRow, change: PosChange, at: datetime) -> None:
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


def _as_state(check: CheckRow, status: str, at: datetime | None) -> CheckState:
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
    """Applies one POS call's check states: one statement for the stored checks, one for the
    claims of new ones, one per kind of write, and the events enqueued together. (Check by
    check, a 100-check order cost five round trips per check and held the writer for the
    whole of them; through the ORM, its flush cost more than the rest of the call.)"""

    def __init__(
        self,
        session: Session,
        rows: Rows,
        order: OrderRow,
        change: PosChange,
        at: datetime,
        cache: generations.Cache | None,
    ) -> None:
        self.rows, self.order, self.at = rows, order, at
        numbers = [check.check_number for check in change.payload.checks]
        venue_id = order.venue_id
        self.stored = repo.check_rows_by_number(rows, venue_id=venue_id, numbers=numbers)
        unknown = [number for number in numbers if number not in self.stored]
        # decision 7: a booking may have claimed a number before the POS reported it.
        self.claims = repo.claims_of(rows, venue_id=venue_id, numbers=unknown)
        self.events = events.Announcer(
            session, order, change.correlation_id, cache=cache, connection=rows.connection
        )
        self.changed: dict[str, CheckRow] = {}  # by number, in the order first changed

    @property
    def written_ids(self) -> list[int]:
        """Ids of the stored checks this call rewrote."""
        return [check.id for check in self.changed.values() if check.id is not None]

    def current(self, check: CheckRow) -> CheckRow:
        """The latest state of a stored check (this call may have changed it already)."""
        return self.stored.get(check.check_number, check)

    def apply(self, state: CheckState, check: CheckRow | None = None) -> None:
        """Judge one check's new state against the stored one (by content hash); keep it and
        note its event when it is accepted."""
        check = check or self.stored.get(state.check_number)
        digest = state.content_hash()
        stored = None
        if check is not None:
            old = CheckState(check.check_number, check.status, updated_at=check.pos_updated_at)
            stored = Stored(old, check.announced, check.content_hash)
        verdict = judge(stored, state, digest)
        if not verdict.accept:
            return
        check = self.stored[state.check_number] = self._store(check, state, digest)
        self.changed[state.check_number] = check
        if verdict.event is not None:
            self.events.add(check, verdict.event)

    def finish(self) -> None:
        """Write the checks that changed, then the events they produced."""
        repo.write_checks(self.rows, list(self.changed.values()))
        self.events.send()

    def _store(self, check: CheckRow | None, state: CheckState, digest: str) -> CheckRow:
        order, at = self.order, self.at
        if check is None:
            check = CheckRow(
                id=None,
                order_id=order.id,
                venue_id=order.venue_id,
                check_number=state.check_number,
                reservation_id=self.claims.get(state.check_number),
                status=state.status,
                total_amount=state.total_amount,
                tax=state.tax,
                tip=state.tip,
                discount=state.discount,
                payment_method=state.payment_method,
                items=[],
                content_hash=digest,
                announced=False,
                pos_updated_at=None,
                opened_at=at,
                closed_at=None,
                voided_at=None,
                updated_at=at,
            )
        else:
            check = replace(check)  # the stored row stays as read until written
        check.order_id = order.id
        check.status = state.status
        check.total_amount, check.tax = state.total_amount, state.tax
        check.tip, check.discount = state.tip, state.discount
        check.payment_method = state.payment_method
        check.items = [dict(item) for item in state.items]
        check.content_hash = digest
        check.pos_updated_at = state.updated_at
        check.updated_at = at
        if state.status == CLOSED:
            check.closed_at = check.closed_at or at
        if state.status == VOID:
            check.voided_at = check.voided_at or at
        return check
