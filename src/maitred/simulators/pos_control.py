"""The POS simulator's control API (`/_sim`, no auth): play the floor, inspect, inject faults.

Every floor action answers `{"order", "hub", "held", "sent"}`: the resulting order, maitred's
answer to the notification it caused (null when held back), and every request actually sent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from maitred.simulators import pos_actions as actions
from maitred.simulators.common import ApiError, calls_json, json_response, read_object
from maitred.simulators.faults import POS_FAULTS, FaultError
from maitred.simulators.hub import Outcome
from maitred.simulators.pos_sim import POS_KEY, PosSim
from maitred.simulators.pos_state import Order, money
from maitred.simulators.pos_wire import order_json, parse_items, pos_date


async def _notify(sim: PosSim, order: Order, kind: str) -> web.Response:
    """Send the notification for `kind` and answer with the order and the outcome."""
    outcome: Outcome = await sim.notify(order, kind)
    return json_response({"order": order_json(order), **outcome.as_json()})


def _order(request: web.Request) -> tuple[PosSim, Order]:
    sim = request.app[POS_KEY]
    return sim, sim.state.find(request.match_info["orderId"])


def _tables(sim: PosSim, body: dict[str, Any]) -> list[str]:
    tables = body.get("tables")
    if not (isinstance(tables, list) and tables and all(isinstance(t, str) for t in tables)):
        raise ApiError(400, "tables must be a non-empty list of POS table ids")
    sim.state.check_tables(tables)
    return tables


def _amount(body: dict[str, Any], name: str) -> Decimal:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApiError(400, f"{name} must be a number")
    try:
        return money(value)
    except ArithmeticError as exc:
        raise ApiError(400, f"{name} must be a number") from exc


def _payment(body: dict[str, Any]) -> dict[str, Any]:
    method = body.get("paymentMethod", "card")
    if not isinstance(method, str) or not method:
        raise ApiError(400, "paymentMethod must be a string")
    return {
        "payment_method": method,
        "tip": _amount(body, "tip"),
        "discount": _amount(body, "discount"),
    }


async def walk_in(request: web.Request) -> web.Response:
    """`POST /_sim/walk-in {tables, partySize, items?}`: open an order and tell maitred."""
    sim = request.app[POS_KEY]
    body = await read_object(request)
    tables = _tables(sim, body)
    size = body.get("partySize")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ApiError(400, "partySize must be a positive integer")
    wanted = parse_items(body["items"]) if body.get("items") else []
    lines = sim.state.lines_for(wanted, sim.core.faults.unknown_skus)
    now = sim.core.now()
    order = sim.state.open_order(tables=tables, now=now, date=pos_date(now))
    order.party_size = size
    order.checks[0].lines = lines
    sim.core.say(f"walk-in: order {order.id} opened on {','.join(tables)}")
    return await _notify(sim, order, "create")


async def add_items(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{id}/items {checkNumber?, items}`."""
    sim, order = _order(request)
    body = await read_object(request)
    number = body.get("checkNumber")
    check = order.check(str(number)) if number is not None else order.first_open_check()
    lines = sim.state.lines_for(parse_items(body.get("items")), sim.core.faults.unknown_skus)
    kind = actions.add_lines(order, check, lines, sim.core.now())
    sim.core.say(f"order {order.id}: {len(lines)} line(s) added to check {check.number}")
    return await _notify(sim, order, kind)


async def split(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{id}/split {parts}`."""
    sim, order = _order(request)
    parts = (await read_object(request)).get("parts", 2)
    if isinstance(parts, bool) or not isinstance(parts, int):
        raise ApiError(400, "parts must be an integer")
    kind = actions.split(sim.state, order, parts, sim.core.now())
    numbers = ", ".join(c.number for c in order.checks)
    sim.core.say(f"order {order.id}: split into {parts}, checks {numbers}")
    return await _notify(sim, order, kind)


async def move(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{id}/move {tables}`."""
    sim, order = _order(request)
    tables = _tables(sim, await read_object(request))
    kind = actions.move(order, tables, sim.core.now())
    sim.core.say(f"order {order.id}: moved to {','.join(tables)}")
    return await _notify(sim, order, kind)


async def close_check(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{id}/checks/{checkNumber}/close {paymentMethod, tip, discount?}`."""
    sim, order = _order(request)
    check = order.check(request.match_info["checkNumber"])
    payment = _payment(await read_object(request))
    kind = actions.close_check(order, check, now=sim.core.now(), **payment)
    sim.core.say(f"order {order.id}: check {check.number} paid {check.total_amount}")
    return await _notify(sim, order, kind)


async def close_order(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{id}/close {paymentMethod, tip, discount?}`: pay every open check."""
    sim, order = _order(request)
    payment = _payment(await read_object(request))
    kind = actions.close_order(order, now=sim.core.now(), **payment)
    sim.core.say(f"order {order.id}: closed")
    return await _notify(sim, order, kind)


async def void_check(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{id}/checks/{checkNumber}/void`."""
    sim, order = _order(request)
    check = order.check(request.match_info["checkNumber"])
    kind = actions.void_check(order, check, sim.core.now())
    sim.core.say(f"order {order.id}: check {check.number} voided")
    return await _notify(sim, order, kind)


async def void_order(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{id}/void`: void the whole order."""
    sim, order = _order(request)
    kind = actions.void_order(order, sim.core.now())
    sim.core.say(f"order {order.id}: voided")
    return await _notify(sim, order, kind)


async def state(request: web.Request) -> web.Response:
    """`GET /_sim/state`: venue, floor, menu, every order, faults, a held notification."""
    sim = request.app[POS_KEY]
    return json_response(
        {
            "venue": sim.state.venue,
            "tables": [vars(t) for t in sim.state.tables.values()],
            "menu": [vars(m) for m in sim.state.menu.values()],
            "orders": [order_json(o) for o in sim.state.orders.values()],
            "faults": sim.core.faults.as_dict(),
            "held": sim.hub.held is not None,
        }
    )


async def calls(request: web.Request) -> web.Response:
    """`GET /_sim/calls`: every request maitred made, with the status answered."""
    return json_response(calls_json(request.app[POS_KEY].core))


async def set_faults(request: web.Request) -> web.Response:
    """`POST /_sim/faults {...switches}`."""
    sim = request.app[POS_KEY]
    try:
        sim.core.faults.apply(await read_object(request), POS_FAULTS)
    except FaultError as exc:
        raise ApiError(400, str(exc)) from exc
    sim.core.say(f"faults set: {sim.core.faults.as_dict()}")
    return json_response(sim.core.faults.as_dict())


async def reset_faults(request: web.Request) -> web.Response:
    """`DELETE /_sim/faults`: no faults; a held notification is sent now."""
    sim = request.app[POS_KEY]
    sim.core.faults.reset()
    outcome = await sim.hub.flush()
    sim.core.say("faults reset")
    return json_response({"faults": sim.core.faults.as_dict(), **outcome.as_json()})


async def flush(request: web.Request) -> web.Response:
    """`POST /_sim/flush`: send a held notification now."""
    return json_response((await request.app[POS_KEY].hub.flush()).as_json())


def add_routes(app: web.Application) -> None:
    """Mount the control API under `/_sim`."""
    orders = "/_sim/orders/{orderId}"
    app.router.add_post("/_sim/walk-in", walk_in)
    app.router.add_post(f"{orders}/items", add_items)
    app.router.add_post(f"{orders}/split", split)
    app.router.add_post(f"{orders}/move", move)
    app.router.add_post(f"{orders}/close", close_order)
    app.router.add_post(f"{orders}/void", void_order)
    app.router.add_post(f"{orders}/checks/{{checkNumber}}/close", close_check)
    app.router.add_post(f"{orders}/checks/{{checkNumber}}/void", void_check)
    app.router.add_get("/_sim/state", state)
    app.router.add_get("/_sim/calls", calls)
    app.router.add_post("/_sim/faults", set_faults)
    app.router.add_delete("/_sim/faults", reset_faults)
    app.router.add_post("/_sim/flush", flush)
