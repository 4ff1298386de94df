"""The webhooks an RBI-contract POS receives from maitred (decisions 11, 16, 18): price, commit
and fire are acknowledged at once and answered later on their `callbackUrl`; the order event and
the store heartbeat are answered in place."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import ValidationError

from maitred.connectors.rbi import events_wire, pos_wire
from maitred.connectors.rbi.channel_wire import OrderAnswer
from maitred.connectors.rbi.errors import validation_body
from maitred.connectors.rbi.types import Wire
from maitred.simulators.common import ApiError, json_response
from maitred.simulators.rbi_pos_sim import RBI_POS_KEY, RbiPosSim
from maitred.simulators.rbi_pos_state import Refusal, SimOrder

W = TypeVar("W", bound=Wire)
PREFIX = "/webhooks"


async def _parse(request: web.Request, model: type[W]) -> tuple[RbiPosSim, W]:
    """The simulator and the webhook's body: 401 on a bad signature, 400 naming the field."""
    sim = request.app[RBI_POS_KEY]
    raw = await request.read()
    sim.check_signature(raw, request.headers)
    try:
        return sim, model.model_validate_json(raw)
    except ValidationError as exc:
        answer = validation_body(exc)
        errors = [entry.model_dump(exclude_none=True) for entry in answer.errors]
        raise ApiError(400, answer.message, {"errors": errors}) from exc


def _own_store(sim: RbiPosSim, store_id: str) -> None:
    if store_id != sim.state.store:
        raise ApiError(404, f"Store {store_id} not found")


def _order(sim: RbiPosSim, order_id: str, store_id: str) -> SimOrder:
    """The order as the POS knows it (an empty one when it has never priced it)."""
    return sim.state.orders.setdefault(order_id, SimOrder(id=order_id, store=store_id))


async def price_order(request: web.Request) -> web.Response:
    """`POST /webhooks/price-order`: price from the menu, call back PRICED or ERROR."""
    sim, hook = await _parse(request, pos_wire.PriceWebhook)
    _own_store(sim, hook.storeId)
    order = sim.state.remember(hook)

    async def outcome(order: SimOrder) -> dict[str, Any]:
        return sim.state.price(order, bad_totals=sim.faults.bad_totals)

    sim.call_back(order, "price", hook.callbackUrl, outcome)
    sim.core.say(f"order {order.id}: price asked ({len(order.cart)} line(s))")
    return json_response({"id": order.id})


async def commit_order(request: web.Request) -> web.Response:
    """`POST /webhooks/commit-order`: take the order (reading it from maitred when the POS has
    not priced it), call back COMMITTED or ERROR; the POS holds the lead time itself."""
    sim, hook = await _parse(request, pos_wire.CommitWebhook)
    _own_store(sim, hook.storeId)
    order = _order(sim, hook.id, hook.storeId)

    async def outcome(order: SimOrder) -> dict[str, Any]:
        if not order.cart:
            await _read_order(sim, order)
        sim.state.check_store()
        sim.state.check_available(order)
        order.lead_time = hook.fireOrderInSeconds
        return {"status": "COMMITTED"}

    def fired_by_lead_time(order: SimOrder) -> None:
        if order.lead_time is not None:
            sim.progress(order, after=order.lead_time)

    sim.call_back(order, "commit", hook.callbackUrl, outcome, fired_by_lead_time)
    sim.core.say(f"order {order.id}: commit asked (lead time {hook.fireOrderInSeconds})")
    return json_response({"id": order.id})


async def _read_order(sim: RbiPosSim, order: SimOrder) -> None:
    """Get Order: the commit does not repeat the cart."""
    status, body = await sim.hub.get(f"/v1/orders/{order.id}")
    try:
        answer = OrderAnswer.model_validate(body)
    except ValidationError as exc:
        raise Refusal("UNKNOWN", f"order {order.id} could not be read ({status})") from exc
    order.cart = list(answer.data.cart.menuSelections)


async def fire_order(request: web.Request) -> web.Response:
    """`POST /webhooks/fire-order`: send a committed order to the kitchen now."""
    sim, hook = await _parse(request, pos_wire.FireWebhook)
    _own_store(sim, hook.storeId)
    order = _order(sim, hook.id, hook.storeId)

    async def outcome(order: SimOrder) -> dict[str, Any]:
        if order.status not in ("COMMITTED", "PREPARING"):
            raise Refusal("UNKNOWN", f"order {order.id} is not committed ({order.status})")
        return {"status": "PREPARING"}

    def cooking(order: SimOrder) -> None:
        sim.progress(order, after=0)

    sim.call_back(order, "fire", hook.callbackUrl, outcome, cooking)
    sim.core.say(f"order {order.id}: fire asked")
    return json_response({"id": order.id})


async def order_event(request: web.Request) -> web.Response:
    """`POST /webhooks/order-event`: maitred's ORDER_UPDATED (decision 18), recorded; a
    cancellation stops the kitchen."""
    sim, update = await _parse(request, events_wire.OrderUpdated)
    record = update.model_dump(mode="json", exclude_unset=True)
    order = sim.state.orders.get(update.id)
    if order is not None:
        order.updates.append(record)
        if update.status in ("CANCELED", "ERROR"):
            order.status = update.status
    sim.core.say(f"order {update.id}: maitred says {update.status}")
    return json_response({"ok": True})


async def store_heartbeat(request: web.Request) -> web.Response:
    """`POST /webhooks/store-heartbeat`: `{isOnline}`."""
    sim, beat = await _parse(request, pos_wire.Heartbeat)
    _own_store(sim, beat.storeId)
    return json_response({"isOnline": sim.state.online})


def add_routes(app: web.Application) -> None:
    """Mount the webhook receivers."""
    app.router.add_post(f"{PREFIX}/price-order", price_order)
    app.router.add_post(f"{PREFIX}/commit-order", commit_order)
    app.router.add_post(f"{PREFIX}/fire-order", fire_order)
    app.router.add_post(f"{PREFIX}/order-event", order_event)
    app.router.add_post(f"{PREFIX}/store-heartbeat", store_heartbeat)
