"""The RBI POS simulator's control API (`/_sim`, no auth): change the menu, take the store
offline, report an order's progress, release a held-back callback, inject faults, inspect.

Actions that call maitred answer `{..., "hub", "held", "sent"}` like the other simulators.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from maitred.simulators.common import ApiError, calls_json, json_response, read_object
from maitred.simulators.faults import FaultError
from maitred.simulators.rbi_pos_sim import GENERIC_FAULTS, LEGS, RBI_POS_KEY, RbiPosSim
from maitred.simulators.rbi_pos_state import SimOrder

EVENT_STATUSES = ("PREPARED", "DONE", "CANCELED", "ERROR", "COMMITTED", "PREPARING")


def _order(request: web.Request) -> tuple[RbiPosSim, SimOrder]:
    sim = request.app[RBI_POS_KEY]
    order_id = request.match_info["orderId"]
    if order_id not in sim.state.orders:
        raise ApiError(404, f"Order {order_id} not found")
    return sim, sim.state.orders[order_id]


async def state(request: web.Request) -> web.Response:
    """`GET /_sim/state`: store, menu, orders, faults."""
    sim = request.app[RBI_POS_KEY]
    return json_response(
        {
            "store": sim.state.store,
            "online": sim.state.online,
            "currency": sim.state.currency,
            "menu": [vars(plu) for plu in sim.state.menu.values()],
            "orders": [order.as_json() for order in sim.state.orders.values()],
            "faults": sim.core.faults.as_dict() | sim.faults.as_dict(),
            "held": sorted(sim.hub.held),
        }
    )


async def calls(request: web.Request) -> web.Response:
    """`GET /_sim/calls`: every request maitred made, with the status answered."""
    return json_response(calls_json(request.app[RBI_POS_KEY].core))


async def set_plu(request: web.Request) -> web.Response:
    """`POST /_sim/menu/{plu} {available?, price?}`: sell out, restock, change a price."""
    sim = request.app[RBI_POS_KEY]
    code = request.match_info["plu"]
    plu = sim.state.menu.get(code)
    if plu is None:
        raise ApiError(404, f"PLU {code} not found")
    body = await read_object(request)
    available, price = body.get("available", plu.available), body.get("price", plu.price)
    if not isinstance(available, bool):
        raise ApiError(400, "available must be a boolean")
    if isinstance(price, bool) or not isinstance(price, int) or price < 0:
        raise ApiError(400, "price must be a non-negative integer of minor units")
    plu.available, plu.price = available, price
    sim.core.say(f"menu: {code} {'available' if available else 'sold out'} at {price}")
    return json_response(vars(plu))


async def set_store(request: web.Request) -> web.Response:
    """`POST /_sim/store {online, reason?}`: tell maitred at once (store-status-changed)."""
    sim = request.app[RBI_POS_KEY]
    body = await read_object(request)
    online, reason = body.get("online"), body.get("reason")
    if not isinstance(online, bool):
        raise ApiError(400, "online must be a boolean")
    if reason is not None and not isinstance(reason, str):
        raise ApiError(400, "reason must be a string")
    outcome = await sim.set_online(online, reason)
    return json_response({"online": online, **outcome.as_json()})


async def report_event(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{orderId}/events {status, errors?}`: report the order's progress."""
    sim, order = _order(request)
    body = await read_object(request)
    status, errors = body.get("status"), body.get("errors")
    if status not in EVENT_STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(EVENT_STATUSES)}")
    if errors is not None and not isinstance(errors, list):
        raise ApiError(400, "errors must be a list of {code, message}")
    outcome = await sim.report(order, status, errors)
    return json_response({"order": order.as_json(), **outcome.as_json()})


async def release(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{orderId}/release {leg}`: send a held-back callback now."""
    sim, order = _order(request)
    leg = (await read_object(request)).get("leg")
    if leg not in LEGS:
        raise ApiError(400, f"leg must be one of {', '.join(LEGS)}")
    outcome = await sim.release(order, leg)
    return json_response({"order": order.as_json(), **outcome.as_json()})


async def set_faults(request: web.Request) -> web.Response:
    """`POST /_sim/faults {...switches}`: the generic ones and the RBI POS's own."""
    sim = request.app[RBI_POS_KEY]
    body = await read_object(request)
    own = {k: v for k, v in body.items() if k in vars(sim.faults)}
    try:
        staged = sim.faults.staged(own)
        sim.core.faults.apply({k: v for k, v in body.items() if k not in own}, GENERIC_FAULTS)
    except FaultError as exc:
        raise ApiError(400, str(exc)) from exc
    sim.faults.apply(staged)
    faults = sim.core.faults.as_dict() | sim.faults.as_dict()
    sim.core.say(f"faults set: {faults}")
    return json_response(faults)


async def reset_faults(request: web.Request) -> web.Response:
    """`DELETE /_sim/faults`: no faults; held (reordered) calls are sent now."""
    sim = request.app[RBI_POS_KEY]
    sim.core.faults.reset()
    sim.faults.reset()
    outcome = await sim.hub.flush()
    faults: dict[str, Any] = sim.core.faults.as_dict() | sim.faults.as_dict()
    return json_response({"faults": faults, **outcome.as_json()})


async def flush(request: web.Request) -> web.Response:
    """`POST /_sim/flush`: send held (reordered) calls now."""
    return json_response((await request.app[RBI_POS_KEY].hub.flush()).as_json())


def add_routes(app: web.Application) -> None:
    """Mount the control API under `/_sim`."""
    app.router.add_get("/_sim/state", state)
    app.router.add_get("/_sim/calls", calls)
    app.router.add_post("/_sim/menu/{plu}", set_plu)
    app.router.add_post("/_sim/store", set_store)
    app.router.add_post("/_sim/orders/{orderId}/events", report_event)
    app.router.add_post("/_sim/orders/{orderId}/release", release)
    app.router.add_post("/_sim/faults", set_faults)
    app.router.add_delete("/_sim/faults", reset_faults)
    app.router.add_post("/_sim/flush", flush)
