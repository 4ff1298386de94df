"""The RBI contract's routes (contracts §2; docs/decisions/0016): the channel API under
`/v1/channel/orders` for partners of kind `channel`, and the POS's callbacks, order events and
Get Order under `/v1/orders/{orderId}` for partners of kind `pos`. Errors answer in the
contract's shape (`{status, code, message, errors[]}`, `connectors.rbi.errors`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from maitred.channel_orders.models import ChannelOrder
from maitred.checkout import flow, wait
from maitred.connectors.rbi import mapping, pos_wire
from maitred.connectors.rbi.channel_wire import (
    CancelOrder,
    CommitOrder,
    OrderAnswer,
    PlaceAnswer,
    PlaceOrder,
    PriceOrder,
)
from maitred.connectors.rbi.ports import order_answer
from maitred.connectors.rbi.web import correlation_id, rbi_router, require_kind
from maitred.db import notify
from maitred.errors import Conflict
from maitred.partners.service import Caller
from maitred.runtime import Runtime
from maitred.web.deps import PartnerDep, RuntimeDep

OrderId = Annotated[str, Path(min_length=1, max_length=200, description="maitred's order id.")]
PriceAsk = Annotated[
    int | None,
    Query(
        ge=1,
        le=2**31 - 1,
        description="Which price request this answers: maitred puts it in the callbackUrl.",
    ),
]

channel_router = rbi_router("/v1/channel/orders", "Channel orders (RBI)")
pos_router = rbi_router("/v1/orders", "POS orders (RBI)")


def _context(request: Request, runtime: Runtime) -> flow.Context:
    return flow.Context.of(runtime.settings, correlation_id(request))


def _answer(order: ChannelOrder, store_id: str) -> Response:
    return Response(order_answer(order, store_id=store_id), media_type="application/json")


async def _read(
    runtime: Runtime, read: Callable[[Session], ChannelOrder], partner_id: str
) -> Response:
    """Read the order afresh (reads run in a thread) and answer it as `partner_id` sees it."""

    def job() -> Response:
        with runtime.db.read_sessions() as session:
            order = read(session)
            return _answer(order, flow.store_id_for(session, order, partner_id))

    return await asyncio.to_thread(job)


async def _channel_read(runtime: Runtime, caller: Caller, order_id: str) -> Response:
    """The order as the calling channel sees it (its own store id)."""
    partner_id = caller.partner_id
    return await _read(
        runtime, lambda s: flow.read_for_channel(s, partner_id, order_id), partner_id
    )


def _poll(runtime: Runtime) -> float:
    configured = runtime.settings.channel_poll_seconds
    if configured is not None:
        return configured
    # SQLite: one process, woken in-process; PostgreSQL: NOTIFY wakes the others, while the
    # listener is connected.
    return 1.0 if notify.LISTENER.connected and not runtime.db.is_sqlite else 0.1


async def _settle(runtime: Runtime, result: flow.Result, ctx: flow.Context) -> None:
    """Wait (bounded) for the callback of the leg just sent; time the order out at the end.
    A re-price while waiting renews the wait: the order is answered once priced again."""
    leg = result.waiting
    if leg is None:
        return
    order_id = result.order.id
    version, deadline = result.order.version, result.order.wait_deadline_at
    while True:
        moved = await wait.until_moved(
            runtime.db.read_sessions,
            order_id,
            version=version,
            deadline_seconds=wait.deadline_left(deadline),
            poll=_poll(runtime),
        )
        if not moved:
            await runtime.writer.run(flow.timeout(order_id, leg, ctx, deadline=deadline))
            return
        still = await asyncio.to_thread(wait.still_waiting, runtime.db.read_sessions, order_id, leg)
        if still is None:
            return
        version, deadline = still


def _refused(result: flow.Result) -> None:
    if result.refused and result.ruling is not None:
        raise Conflict(result.ruling.reason)


# -- channel API --------------------------------------------------------------------------


def _new_order(caller: Caller, body: PriceOrder | PlaceOrder) -> flow.NewOrder:
    dumped = body.model_dump(mode="json", exclude_none=True)
    request = {k: v for k, v in dumped.items() if k in ("charges", "deliveryAddress", "loyalty")}
    place = None
    if isinstance(body, PlaceOrder):
        place = _commit(body)
    return flow.NewOrder(
        channel_partner_id=caller.partner_id,
        store_id=body.storeId,
        service_mode=body.serviceMode,
        cart=dumped["cart"],
        customer=dumped.get("customer"),
        request=request,
        external_reference_id=body.externalReferenceId,
        place=place,
    )


def _commit(body: CommitOrder | PlaceOrder) -> flow.Commit:
    keep = ("paymentMethod", "charges", "fireOrderInSeconds", "readyInSeconds", "mpfOrderId")
    dumped = body.model_dump(mode="json", include=set(keep), exclude_none=True)
    dumped["fireOrderInSeconds"] = body.fireOrderInSeconds
    total = body.charges.total if body.charges is not None else None
    return flow.Commit(
        lead_time=body.fireOrderInSeconds,
        body=dumped,
        total=None if total is None else mapping.money(total),
    )


@channel_router.post("/price", response_model=OrderAnswer)
async def price_order(
    request: Request, runtime: RuntimeDep, caller: PartnerDep, body: PriceOrder
) -> Response:
    """Create an order and have the POS price it; answers once the POS called back, or with
    the order in ERROR (TIMEOUT) when it did not within `MAITRED_CHANNEL_WAIT_SECONDS`."""
    require_kind(caller, "channel")
    ctx = _context(request, runtime)
    result = await runtime.writer.run(flow.create(_new_order(caller, body), ctx))
    _refused(result)  # a re-price of an order past PRICED
    await _settle(runtime, result, ctx)
    order_id = result.order.id
    return await _channel_read(runtime, caller, order_id)


@channel_router.post("/place", response_model=PlaceAnswer)
async def place_order(
    request: Request, runtime: RuntimeDep, caller: PartnerDep, body: PlaceOrder
) -> Response:
    """Price and commit in one call, answered at once; the outcome arrives as
    `ORDER_UPDATED` webhooks."""
    require_kind(caller, "channel")
    ctx = _context(request, runtime)
    result = await runtime.writer.run(flow.create(_new_order(caller, body), ctx))
    data: dict[str, Any] = {
        "id": result.order.id,
        "callbackUrl": f"{ctx.public_url}/v1/channel/orders/{result.order.id}",
    }
    if body.externalReferenceId:
        data["externalReferenceId"] = body.externalReferenceId
    return JSONResponse({"data": data})


@channel_router.post("/{orderId}/commit", response_model=OrderAnswer)
async def commit_order(
    request: Request, runtime: RuntimeDep, caller: PartnerDep, orderId: OrderId, body: CommitOrder
) -> Response:
    """The guest paid: the POS takes the order (answers once it called back, bounded)."""
    require_kind(caller, "channel")
    ctx = _context(request, runtime)
    result = await runtime.writer.run(flow.commit(caller.partner_id, orderId, _commit(body), ctx))
    _refused(result)
    await _settle(runtime, result, ctx)
    return await _channel_read(runtime, caller, orderId)


@channel_router.post("/{orderId}/fire", response_model=OrderAnswer)
async def fire_order(
    request: Request, runtime: RuntimeDep, caller: PartnerDep, orderId: OrderId
) -> Response:
    """Send the committed order to the kitchen now (wins over its lead time)."""
    require_kind(caller, "channel")
    result = await runtime.writer.run(
        flow.fire(caller.partner_id, orderId, _context(request, runtime))
    )
    _refused(result)
    return await _channel_read(runtime, caller, orderId)


@channel_router.post("/{orderId}/cancel", response_model=OrderAnswer)
async def cancel_order(
    request: Request,
    runtime: RuntimeDep,
    caller: PartnerDep,
    orderId: OrderId,
    body: CancelOrder | None = None,
) -> Response:
    """Cancel the order (the POS hears of it by `ORDER_UPDATED`)."""
    require_kind(caller, "channel")
    del body  # the reason travels in the trace only, for now
    result = await runtime.writer.run(
        flow.cancel(caller.partner_id, orderId, _context(request, runtime))
    )
    _refused(result)
    return await _channel_read(runtime, caller, orderId)


@channel_router.get("/{orderId}", response_model=OrderAnswer)
async def get_order(runtime: RuntimeDep, caller: PartnerDep, orderId: OrderId) -> Response:
    """The order as it stands."""
    require_kind(caller, "channel")
    return await _channel_read(runtime, caller, orderId)


# -- POS side -----------------------------------------------------------------------------


async def _pos_read(runtime: Runtime, caller: Caller, order_id: str) -> Response:
    """The order as the calling POS sees it (its own store id)."""
    partner_id = caller.partner_id
    return await _read(runtime, lambda s: flow.read_for_pos(s, partner_id, order_id), partner_id)


async def _pos_report(
    request: Request,
    runtime: RuntimeDep,
    caller: Caller,
    order_id: str,
    job: Callable[[flow.Context], Callable[[Session], flow.Result]],
) -> Response:
    require_kind(caller, "pos")
    result = await runtime.writer.run(job(_context(request, runtime)))
    _refused(result)
    return await _pos_read(runtime, caller, order_id)


async def _state_callback(
    request: Request,
    runtime: RuntimeDep,
    caller: Caller,
    order_id: str,
    body: pos_wire.CommitCallback | pos_wire.FireCallback,
) -> Response:
    """A callback that only moves the order's state (commit, fire): the price callback also
    carries the priced cart."""
    report = mapping.callback_report(body)
    return await _pos_report(
        request,
        runtime,
        caller,
        order_id,
        lambda ctx: flow.callback(caller.partner_id, order_id, report, ctx),
    )


@pos_router.post("/{orderId}/price/callback", response_model=OrderAnswer)
async def price_callback(
    request: Request,
    runtime: RuntimeDep,
    caller: PartnerDep,
    orderId: OrderId,
    body: pos_wire.PriceCallback,
    ask: PriceAsk = None,
) -> Response:
    """The POS's answer to a price webhook: PRICED with the priced cart, or ERROR. The
    `callbackUrl` maitred sent carries `ask`: the answer to a request a re-price replaced is
    ignored (200 with the current state, traced)."""
    report = mapping.callback_report(body)
    priced = doc = None
    if isinstance(body, pos_wire.Priced):
        priced = mapping.priced_cart(body)
        doc = body.model_dump(mode="json", exclude_none=True)
    return await _pos_report(
        request,
        runtime,
        caller,
        orderId,
        lambda ctx: flow.callback(
            caller.partner_id, orderId, report, ctx, priced=priced, priced_doc=doc, ask=ask
        ),
    )


@pos_router.post("/{orderId}/commit/callback", response_model=OrderAnswer)
async def commit_callback(
    request: Request,
    runtime: RuntimeDep,
    caller: PartnerDep,
    orderId: OrderId,
    body: pos_wire.CommitCallback,
) -> Response:
    """The POS's answer to a commit webhook: COMMITTED, or ERROR."""
    return await _state_callback(request, runtime, caller, orderId, body)


@pos_router.post("/{orderId}/fire/callback", response_model=OrderAnswer)
async def fire_callback(
    request: Request,
    runtime: RuntimeDep,
    caller: PartnerDep,
    orderId: OrderId,
    body: pos_wire.FireCallback,
) -> Response:
    """The POS's answer to a fire webhook: PREPARING, or ERROR."""
    return await _state_callback(request, runtime, caller, orderId, body)


@pos_router.post("/{orderId}/events", response_model=OrderAnswer)
async def order_event(
    request: Request,
    runtime: RuntimeDep,
    caller: PartnerDep,
    orderId: OrderId,
    body: pos_wire.OrderEvent,
) -> Response:
    """The order's progress as the POS reports it (PREPARED, DONE, CANCELED, ERROR; a resent
    COMMITTED or PREPARING changes nothing)."""
    report = mapping.event_report(body)
    return await _pos_report(
        request,
        runtime,
        caller,
        orderId,
        lambda ctx: flow.event(caller.partner_id, orderId, report, ctx),
    )


@pos_router.get("/{orderId}", response_model=OrderAnswer)
async def pos_get_order(runtime: RuntimeDep, caller: PartnerDep, orderId: OrderId) -> Response:
    """Get Order: the commit webhook does not repeat the cart."""
    require_kind(caller, "pos")
    return await _pos_read(runtime, caller, orderId)
