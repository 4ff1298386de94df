"""The channel simulator's control API (`/_sim`, no auth): place orders on maitred's channel
API, read the webhooks it sent, inject faults on the receiver.

Order actions answer maitred's answer: `{method, path, status, body, elapsedMs}`. A body with
`"raw": true` is sent exactly as given (minus `raw`), to try bad input on maitred.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from maitred.simulators.channel_sim import CHANNEL_BASE, CHANNEL_KEY, ChannelSim
from maitred.simulators.common import ApiError, calls_json, json_response, read_object
from maitred.simulators.faults import RMS_FAULTS, FaultError

# The receiver takes the same inbound and outbound switches as the RMS simulator's.
CHANNEL_FAULTS = RMS_FAULTS


async def _body(request: web.Request) -> tuple[dict[str, Any], bool]:
    body = await read_object(request)
    raw = body.pop("raw", False)
    if not isinstance(raw, bool):
        raise ApiError(400, "raw must be a boolean")
    return body, raw


async def _answer(sim: ChannelSim, method: str, path: str, body: Any = None) -> web.Response:
    return json_response((await sim.call(method, path, body)).as_json())


def _order_id(request: web.Request) -> str:
    return request.match_info["orderId"]


async def price(request: web.Request) -> web.Response:
    """`POST /_sim/orders/price {items?|cart?, …}` → `POST /v1/channel/orders/price`."""
    sim = request.app[CHANNEL_KEY]
    body, raw = await _body(request)
    return await _answer(
        sim, "POST", f"{CHANNEL_BASE}/price", body if raw else sim.order_body(body)
    )


async def place(request: web.Request) -> web.Response:
    """`POST /_sim/orders/place {items?, paymentMethod?, fireOrderInSeconds?, …}`."""
    sim = request.app[CHANNEL_KEY]
    body, raw = await _body(request)
    if not raw:
        body = sim.order_body(body)
        body.setdefault("paymentMethod", "CREDIT_CARD")
        body.setdefault("fireOrderInSeconds", None)
    return await _answer(sim, "POST", f"{CHANNEL_BASE}/place", body)


async def commit(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{orderId}/commit {paymentMethod?, fireOrderInSeconds?, charges?}`."""
    sim = request.app[CHANNEL_KEY]
    body, raw = await _body(request)
    if not raw:
        body.setdefault("paymentMethod", "CREDIT_CARD")
        body.setdefault("fireOrderInSeconds", None)
    return await _answer(sim, "POST", f"{CHANNEL_BASE}/{_order_id(request)}/commit", body)


async def fire(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{orderId}/fire`."""
    sim = request.app[CHANNEL_KEY]
    return await _answer(sim, "POST", f"{CHANNEL_BASE}/{_order_id(request)}/fire")


async def cancel(request: web.Request) -> web.Response:
    """`POST /_sim/orders/{orderId}/cancel {reason?}`."""
    sim = request.app[CHANNEL_KEY]
    body, _ = await _body(request)
    return await _answer(sim, "POST", f"{CHANNEL_BASE}/{_order_id(request)}/cancel", body)


async def read(request: web.Request) -> web.Response:
    """`GET /_sim/orders/{orderId}` → `GET /v1/channel/orders/{orderId}`."""
    sim = request.app[CHANNEL_KEY]
    return await _answer(sim, "GET", f"{CHANNEL_BASE}/{_order_id(request)}")


async def events(request: web.Request) -> web.Response:
    """`GET /_sim/events[?id=]`: every webhook received, with its problems."""
    sim = request.app[CHANNEL_KEY]
    wanted = request.query.get("id")
    return json_response(
        [
            e.as_json()
            for e in sim.events
            if wanted is None or (isinstance(e.body, dict) and e.body.get("id") == wanted)
        ]
    )


async def state(request: web.Request) -> web.Response:
    """`GET /_sim/state`: the orders as last answered, statuses, problems, faults."""
    sim = request.app[CHANNEL_KEY]
    return json_response(
        {
            "store": sim.config.venue,
            "orders": sim.orders,
            "statuses": sim.statuses,
            "events": len(sim.events),
            "problems": sum(len(e.problems) for e in sim.events),
            "answers": [a.as_json() for a in sim.answers],
            "faults": sim.core.faults.as_dict(),
        }
    )


async def calls(request: web.Request) -> web.Response:
    """`GET /_sim/calls`: every request maitred made, with the status answered."""
    return json_response(calls_json(request.app[CHANNEL_KEY].core))


async def set_faults(request: web.Request) -> web.Response:
    """`POST /_sim/faults {...switches}` (the receiver's answers: latency, failures, hangs)."""
    sim = request.app[CHANNEL_KEY]
    try:
        sim.core.faults.apply(await read_object(request), CHANNEL_FAULTS)
    except FaultError as exc:
        raise ApiError(400, str(exc)) from exc
    return json_response(sim.core.faults.as_dict())


async def reset_faults(request: web.Request) -> web.Response:
    """`DELETE /_sim/faults`."""
    sim = request.app[CHANNEL_KEY]
    sim.core.faults.reset()
    return json_response(sim.core.faults.as_dict())


def add_routes(app: web.Application) -> None:
    """Mount the control API under `/_sim`."""
    orders = "/_sim/orders/{orderId}"
    app.router.add_post("/_sim/orders/price", price)
    app.router.add_post("/_sim/orders/place", place)
    app.router.add_post(f"{orders}/commit", commit)
    app.router.add_post(f"{orders}/fire", fire)
    app.router.add_post(f"{orders}/cancel", cancel)
    app.router.add_get(orders, read)
    app.router.add_get("/_sim/events", events)
    app.router.add_get("/_sim/state", state)
    app.router.add_get("/_sim/calls", calls)
    app.router.add_post("/_sim/faults", set_faults)
    app.router.add_delete("/_sim/faults", reset_faults)
