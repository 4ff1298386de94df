"""Channel orders through the POS (seed 004; docs/decisions/0016): the channel's price, commit,
fire, cancel and place, the POS's callbacks and events, and the two timers (the bounded wait,
the lead time). Every transition is one writer job: lock the order, judge the report
(`channel_orders.rules`), write the order, its trace row and the deliveries the ruling calls for
(the webhook to the POS; one `ORDER_UPDATED` to the channel and one to the POS when the status
moved), then wake whoever waits on the order.

Contract-neutral: the bodies come from the partners' contracts (`PosOrdering`, `OrderNotices`),
the delivery kinds are named after them (`rbi.price`, `rbi.order_updated`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from maitred.channel_orders import money, repository
from maitred.channel_orders.models import ChannelOrder
from maitred.channel_orders.ports import OrderNotices, PosOrdering
from maitred.channel_orders.repository import WAITED, PartnerLink
from maitred.channel_orders.rules import (
    ChannelOrderStatus,
    Leg,
    Report,
    Ruling,
    Verdict,
    fire_due,
    judge,
)
from maitred.channel_orders.stores import DEFAULT_WATCH, Watch
from maitred.channel_orders.types import Money, PartnerError, PricedCart
from maitred.checkout import stores, wait
from maitred.clock import now
from maitred.config import Settings
from maitred.deliveries import service as deliveries
from maitred.errors import Conflict, Forbidden, NotFound, field_details
from maitred.partners import contracts

S = ChannelOrderStatus
Job = Callable[[Session], "Result"]


@dataclass(frozen=True)
class Context:
    """What a transition needs of the process's settings, and the request's correlation id."""

    public_url: str
    wait_seconds: float
    fire_ttl: float
    correlation_id: str | None = None
    watch: Watch = DEFAULT_WATCH

    @classmethod
    def of(cls, settings: Settings, correlation_id: str | None = None) -> Context:
        """The context for `settings`."""
        return cls(
            public_url=settings.public_url.rstrip("/"),
            wait_seconds=settings.channel_wait_seconds,
            fire_ttl=settings.channel_fire_ttl,
            correlation_id=correlation_id,
            watch=Watch(settings.channel_heartbeat_seconds, settings.channel_heartbeat_misses),
        )


@dataclass(frozen=True)
class Commit:
    """A channel's commit: its lead time, its body as the contract spells it, and the total it
    agreed to (compared with the POS's)."""

    lead_time: int | None
    body: dict[str, Any]
    total: Money | None = None


@dataclass(frozen=True)
class NewOrder:
    """A channel's new order: the store as the channel calls it and the order as asked."""

    channel_partner_id: str
    store_id: str
    service_mode: str
    cart: dict[str, Any]
    customer: dict[str, Any] | None
    request: dict[str, Any] = field(default_factory=dict)
    external_reference_id: str | None = None
    place: Commit | None = None  # a place: the commit applied once the price lands


@dataclass(frozen=True)
class Result:
    """The order after a job, the ruling on its report, and the leg the caller should wait
    for (a price or commit just sent)."""

    order: ChannelOrder
    ruling: Ruling | None = None
    waiting: Leg | None = None

    @property
    def refused(self) -> bool:
        """The report was not allowed (the caller answers 409 with `ruling.reason`)."""
        return self.ruling is not None and self.ruling.verdict is Verdict.REFUSE


# -- the channel's side -------------------------------------------------------------------


def create(new: NewOrder, ctx: Context) -> Job:
    """Create the order and ask the POS to price it (place: then commit it)."""

    def job(session: Session) -> Result:
        store = repository.store_of(session, new.channel_partner_id, new.store_id)
        if store is None:
            message = f"unknown store {new.store_id!r}"
            raise NotFound(message, details=field_details("storeId", message))
        if store.currency is None:
            message = f"venue {store.venue_id} has no currency set; channel orders need one"
            raise Conflict(message, details=field_details("currency", message))
        pos = repository.link_of(session, store.venue_id, "pos")
        if pos is None or _ordering(pos) is None or not pos.webhook_url:
            message = "the store has no POS taking channel orders"
            raise Conflict(message, details=field_details("storeId", message))
        if new.external_reference_id is not None:
            known = repository.by_reference(
                session, new.channel_partner_id, new.external_reference_id
            )
            if known is not None:
                return _reprice(session, known, new, store.venue_id, ctx)
        at = now()
        order = ChannelOrder(
            id=str(uuid.uuid4()),
            channel_partner_id=new.channel_partner_id,
            pos_partner_id=pos.partner_id,
            venue_id=store.venue_id,
            external_reference_id=new.external_reference_id,
            service_mode=new.service_mode,
            status=S.CREATED.value,
            awaiting="",
            commit_asked=False,
            currency=store.currency,
            cart=new.cart,
            customer=new.customer,
            request=new.request,
            version=0,
            price_asks=0,
            preparation_seconds=0,
            created_at=at,
            updated_at=at,
        )
        if new.place is not None:
            order.place_commit = _commit_json(new.place)
        session.add(order)
        session.flush()
        closed = stores.refusal(session, store.venue_id, pos.partner_id, ctx.watch)
        if closed is not None:
            # docs/decisions/0032: an offline or silent store is refused before any webhook.
            return Result(order, _transition(session, order, Report.event(S.ERROR, (closed,)), ctx))
        ruling = _transition(session, order, Report.price_request(), ctx)
        waiting = Leg.PRICE if new.place is None else None
        return Result(order, ruling, waiting)

    return job


def _reprice(
    session: Session, order: ChannelOrder, new: NewOrder, venue_id: str, ctx: Context
) -> Result:
    """The channel prices again an order it already named (its `externalReferenceId`: the cart
    visited again). Allowed while the order is CREATED or PRICED: the cart is replaced and the
    POS asked again, the new price webhook superseding one still queued (its coalesce key),
    and the answer to the replaced request ignored (the `ask` number of its callback URL)."""
    if order.venue_id != venue_id or new.place is not None:
        what = "at another store" if order.venue_id != venue_id else "already; a place is new"
        message = f"externalReferenceId names order {order.id} {what}"
        raise Conflict(message, details=field_details("externalReferenceId", message))
    if judge(repository.lifecycle(order), Report.price_request()).verdict is not Verdict.APPLY:
        # Committed, or ended: refused (409) with its trace row, nothing else changes.
        return Result(order, _transition(session, order, Report.price_request(), ctx))
    order.cart = new.cart
    order.customer = new.customer
    order.request = new.request
    order.service_mode = new.service_mode
    closed = stores.refusal(session, venue_id, order.pos_partner_id, ctx.watch)
    if closed is not None:
        return Result(order, _transition(session, order, Report.event(S.ERROR, (closed,)), ctx))
    return Result(order, _transition(session, order, Report.price_request(), ctx), Leg.PRICE)


def commit(channel_partner_id: str, order_id: str, request: Commit, ctx: Context) -> Job:
    """The channel commits a priced order."""

    def job(session: Session) -> Result:
        order = _channel_order(session, channel_partner_id, order_id)
        ruling = _commit(session, order, request, ctx)
        return Result(order, ruling, Leg.COMMIT if ruling.send is Leg.COMMIT else None)

    return job


def fire(channel_partner_id: str, order_id: str, ctx: Context) -> Job:
    """The channel fires a committed order now."""

    def job(session: Session) -> Result:
        order = _channel_order(session, channel_partner_id, order_id)
        return Result(order, _transition(session, order, Report.fire_request(), ctx))

    return job


def cancel(channel_partner_id: str, order_id: str, ctx: Context) -> Job:
    """The channel cancels the order."""

    def job(session: Session) -> Result:
        order = _channel_order(session, channel_partner_id, order_id)
        return Result(order, _transition(session, order, Report.cancel_request(), ctx))

    return job


def read_for_channel(session: Session, channel_partner_id: str, order_id: str) -> ChannelOrder:
    """The channel's order (404 for another channel's)."""
    order = repository.get(session, order_id)
    if order is None or order.channel_partner_id != channel_partner_id:
        raise _no_order(order_id)
    return order


# -- the POS's side -----------------------------------------------------------------------


def callback(
    pos_partner_id: str,
    order_id: str,
    report: Report,
    ctx: Context,
    *,
    priced: PricedCart | None = None,
    priced_doc: dict[str, Any] | None = None,
    ask: int | None = None,
) -> Job:
    """The POS answers a price, commit or fire webhook. A PRICED answer is checked
    (`channel_orders.money`, and a place's agreed total): an inconsistent one is an ERROR.
    A price answer naming an earlier request (`ask`, from its callback URL) than the order's
    last is ignored, with a trace: a re-price replaced that request."""

    def job(session: Session) -> Result:
        order = _pos_order(session, pos_partner_id, order_id)
        if report.leg is Leg.PRICE and ask is not None and ask != order.price_asks:
            return Result(order, _ignore_replaced(session, order, report, ask, ctx))
        judged = report
        if priced is not None and report.status is S.PRICED:
            problems = _price_problems(session, order, priced)
            if problems:
                judged = Report.callback(Leg.PRICE, S.ERROR, problems)
        ruling = _transition(session, order, judged, ctx, priced=(priced, priced_doc))
        if (
            ruling.verdict is Verdict.APPLY
            and ruling.lifecycle.status is S.PRICED
            and order.place_commit is not None
        ):
            place = order.place_commit
            _commit(session, order, Commit(place.get("leadTime"), place["body"]), ctx)
        return Result(order, ruling)

    return job


def _ignore_replaced(
    session: Session, order: ChannelOrder, report: Report, ask: int, ctx: Context
) -> Ruling:
    state = repository.lifecycle(order)
    reason = (
        f"answers price request {ask}; the order's price request is now {order.price_asks}"
        " (re-priced)"
    )
    ruling = Ruling(Verdict.IGNORE, state, reason, previous=state.status)
    repository.add_event(
        session, order.id, report, ruling, at=now(), correlation_id=ctx.correlation_id
    )
    session.flush()
    return ruling


def event(pos_partner_id: str, order_id: str, report: Report, ctx: Context) -> Job:
    """The POS reports the order's progress."""

    def job(session: Session) -> Result:
        order = _pos_order(session, pos_partner_id, order_id)
        return Result(order, _transition(session, order, report, ctx))

    return job


def read_for_pos(session: Session, pos_partner_id: str, order_id: str) -> ChannelOrder:
    """The POS's order (Get Order); 404 for an unknown one, 403 for another POS's."""
    order = repository.get(session, order_id)
    if order is None:
        raise _no_order(order_id)
    if order.pos_partner_id != pos_partner_id:
        raise _not_yours(order_id)
    return order


def store_id_for(session: Session, order: ChannelOrder, partner_id: str) -> str:
    """`partner_id`'s own id for the order's store."""
    link = repository.partner_link(session, order.venue_id, partner_id)
    return "" if link is None else link.external_id


# -- the timers ---------------------------------------------------------------------------


def timeout(order_id: str, leg: Leg, ctx: Context, *, deadline: datetime | None = None) -> Job:
    """The wait for the `leg` callback ran out: ERROR with a TIMEOUT partner error, unless the
    callback came first (then nothing changes), or a re-price renewed the wait past `deadline`,
    the one that ran out (then the new wait stands)."""

    def job(session: Session) -> Result:
        order = repository.lock(session, order_id)
        if order is None:
            raise _no_order(order_id)
        renewed = order.wait_deadline_at
        if deadline is not None and renewed is not None and renewed > deadline:
            return Result(order)
        return Result(order, _transition(session, order, Report.timeout(leg), ctx))

    return job


def sweep_waits(ctx: Context, *, grace: float = 1.0, limit: int = 100) -> Callable[[Session], int]:
    """Time out every order still waiting for a price or commit callback `grace` seconds past
    its deadline (its waiter died with its process, or it was a place); how many."""

    def job(session: Session) -> int:
        overdue = repository.overdue_waits(session, now() - timedelta(seconds=grace), limit)
        for order in overdue:
            legs = [leg for leg in WAITED if leg.value in order.awaiting.split(",")]
            for leg in legs:
                _transition(session, order, Report.timeout(leg), ctx)
            if not legs:
                order.wait_deadline_at = None
        return len(overdue)

    return job


def sweep_fires(ctx: Context, *, limit: int = 100) -> Callable[[Session], int]:
    """Move every committed order whose lead time is over to PREPARING; how many."""

    def job(session: Session) -> int:
        due = repository.due_fires(session, now(), limit)
        for order_id in due:
            order = repository.lock(session, order_id)
            if order is not None:
                _transition(session, order, Report.lead_time_over(), ctx)
        return len(due)

    return job


# -- one transition -----------------------------------------------------------------------


def _transition(
    session: Session,
    order: ChannelOrder,
    report: Report,
    ctx: Context,
    *,
    priced: tuple[PricedCart | None, dict[str, Any] | None] = (None, None),
) -> Ruling:
    """Judge `report`, trace it, and apply it with what it calls for."""
    at = now()
    before = repository.lifecycle(order)
    ruling = judge(before, report)
    repository.add_event(
        session, order.id, report, ruling, at=at, correlation_id=ctx.correlation_id
    )
    if ruling.verdict is not Verdict.APPLY:
        session.flush()
        return ruling
    after = ruling.lifecycle
    repository.set_lifecycle(order, after)
    order.version += 1
    order.updated_at = at
    cart, doc = priced
    if after.status is S.PRICED and cart is not None:  # priced, or priced again
        order.priced = doc
        order.sub_total = cart.charges.sub_total.amount
        order.tax = cart.charges.tax.amount
        order.total = cart.charges.total.amount
    if after.status is S.COMMITTED and before.status is not S.COMMITTED:
        order.committed_at = at
        order.fire_due_at = fire_due(at, after.lead_time)
    if ruling.send in WAITED:
        order.wait_deadline_at = at + timedelta(seconds=ctx.wait_seconds)
    elif not any(leg in after.awaiting for leg in WAITED):
        order.wait_deadline_at = None
    session.flush()
    if ruling.send is not None:
        _send_leg(session, order, ruling.send, ctx, at)
    if ruling.changed:
        _notify(session, order, ctx, at)
    wait.moved(session, order.id)
    return ruling


def _commit(session: Session, order: ChannelOrder, request: Commit, ctx: Context) -> Ruling:
    report = Report.commit_request(request.lead_time)
    state = repository.lifecycle(order)
    if request.total is not None and order.total is not None and judge(state, report).send:
        mismatch = money.price_mismatch(request.total, Money(order.total, order.currency))
        if mismatch is not None:
            # decision 0017: the channel agreed to another total than the POS's.
            return _transition(session, order, Report.event(S.ERROR, (mismatch,)), ctx)
    ruling = judge(state, report)
    if ruling.verdict is Verdict.APPLY:
        order.commit_request = request.body
        order.payment_method = request.body.get("paymentMethod")
    return _transition(session, order, report, ctx)


def _price_problems(
    session: Session, order: ChannelOrder, priced: PricedCart
) -> tuple[PartnerError, ...]:
    link = repository.partner_link(session, order.venue_id, order.pos_partner_id)
    ordering = None if link is None else _ordering(link)
    requested = ordering.requested_lines(order) if ordering is not None else ()
    problems = money.check_priced(priced, currency=order.currency, requested=requested)
    place = order.place_commit
    if not problems and place is not None and place.get("total") is not None:
        expected = Money(int(place["total"]), order.currency)
        mismatch = money.price_mismatch(expected, priced.charges.total)
        if mismatch is not None:
            problems = (mismatch,)
    return problems


def _send_leg(session: Session, order: ChannelOrder, leg: Leg, ctx: Context, at: datetime) -> None:
    """The webhook asking the POS for `leg`, with its deadline (decision 0016's table)."""
    pos = repository.partner_link(session, order.venue_id, order.pos_partner_id)
    ordering = None if pos is None else _ordering(pos)
    if pos is None or ordering is None or not pos.webhook_url:
        return  # the venue lost its POS since: the wait runs out and says so
    callback_url = f"{ctx.public_url}/v1/orders/{order.id}/{leg.value}/callback"
    if leg is Leg.PRICE:
        order.price_asks += 1
        callback_url += f"?ask={order.price_asks}"
    hook = ordering.leg_webhook(leg, order, store_id=pos.external_id, callback_url=callback_url)
    expires: datetime | None
    if leg is Leg.FIRE:
        expires = order.fire_due_at or at + timedelta(seconds=ctx.fire_ttl)
    else:
        expires = order.wait_deadline_at
    deliveries.enqueue_webhook(
        session,
        partner_id=pos.partner_id,
        webhook_url=pos.webhook_url,
        path=hook.path,
        venue_id=order.venue_id,
        kind=f"{pos.contract}.{leg.value}",
        body=hook.body,
        ordering_key=f"order:{order.id}",
        coalesce_key=f"order:{order.id}:price" if leg is Leg.PRICE else None,
        correlation_id=ctx.correlation_id,
        expires_at=expires,
    )


def _notify(session: Session, order: ChannelOrder, ctx: Context, at: datetime) -> None:
    """One `ORDER_UPDATED` to the order's channel and one to its POS (decision 18)."""
    readers = (
        (order.channel_partner_id, "channel", f"{ctx.public_url}/v1/channel/orders/{order.id}"),
        (order.pos_partner_id, "pos", f"{ctx.public_url}/v1/orders/{order.id}"),
    )
    for partner_id, kind, callback_url in readers:
        link = repository.partner_link(session, order.venue_id, partner_id)
        notices = None if link is None else _notices(link)
        if link is None or notices is None or not link.webhook_url:
            continue
        body = notices.order_updated(order, callback_url=callback_url, at=at)
        deliveries.enqueue_webhook(
            session,
            partner_id=partner_id,
            webhook_url=link.webhook_url,
            path=notices.order_updated_path(kind),
            venue_id=order.venue_id,
            kind=f"{link.contract}.order_updated",
            body=body,
            ordering_key=f"order:{order.id}:updates",
            correlation_id=ctx.correlation_id,
        )


# -- lookups ------------------------------------------------------------------------------


def _ordering(link: PartnerLink) -> PosOrdering | None:
    contract = contracts.find(link.contract)
    return None if contract is None else contract.ordering


def _notices(link: PartnerLink) -> OrderNotices | None:
    contract = contracts.find(link.contract)
    return None if contract is None else contract.notices


def _channel_order(session: Session, channel_partner_id: str, order_id: str) -> ChannelOrder:
    order = repository.lock(session, order_id)
    if order is None or order.channel_partner_id != channel_partner_id:
        raise _no_order(order_id)
    return order


def _pos_order(session: Session, pos_partner_id: str, order_id: str) -> ChannelOrder:
    order = repository.lock(session, order_id)
    if order is None:
        raise _no_order(order_id)
    if order.pos_partner_id != pos_partner_id:
        raise _not_yours(order_id)
    return order


def _no_order(order_id: str) -> NotFound:
    message = f"order {order_id} not found"
    return NotFound(message, details=field_details("orderId", message))


def _not_yours(order_id: str) -> Forbidden:
    message = f"order {order_id} belongs to another POS"
    return Forbidden(message, details=field_details("orderId", message))


def _commit_json(place: Commit) -> dict[str, Any]:
    return {
        "leadTime": place.lead_time,
        "body": place.body,
        "total": None if place.total is None else place.total.amount,
    }
