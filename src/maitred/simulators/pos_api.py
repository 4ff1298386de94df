"""The endpoints a POS must expose, as maitred calls them (contracts.md §1.6, README decision 4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from maitred.simulators.common import ApiError, json_response, parse_iso, read_object
from maitred.simulators.pos_actions import ensure_open, replace_preorders
from maitred.simulators.pos_sim import POS_KEY, PosSim
from maitred.simulators.pos_state import Order
from maitred.simulators.pos_wire import order_json, parse_order_body, pos_date

ORDER_FIELDS = {
    "id": "hub_id",
    "tables": "tables",
    "partySize": "party_size",
    "guestName": "guest_name",
    "guestEmail": "guest_email",
    "guestTelephone": "guest_telephone",
    "prepayment": "prepayment",
    "date": "date",
}


def _sim(request: web.Request) -> PosSim:
    """The simulator, after checking the path's venue is ours (404 otherwise)."""
    sim = request.app[POS_KEY]
    venue = request.match_info["venueId"]
    if venue != sim.state.venue:
        raise ApiError(404, f"Venue {venue} not found")
    return sim


def _apply(order: Order, values: dict[str, Any]) -> None:
    """Copy the body's fields onto the order (`id` only when maitred sent one)."""
    for wire, attribute in ORDER_FIELDS.items():
        if wire in values and not (wire == "id" and values[wire] is None):
            setattr(order, attribute, values[wire])


async def list_tables(request: web.Request) -> web.Response:
    """`GET /venue/{venueId}/tables`."""
    sim = _sim(request)
    return json_response(
        [{"id": t.id, "name": t.name, "area": t.area} for t in sim.state.tables.values()]
    )


async def create_order(request: web.Request) -> web.Response:
    """`POST /venue/{venueId}/orders`: open an order (never deduplicated, like many POSes)."""
    sim = _sim(request)
    parsed = parse_order_body(await read_object(request), creating=True)
    sim.state.check_tables(parsed.values["tables"])
    lines = sim.state.lines_for(parsed.items or [], sim.core.faults.unknown_skus)
    now = sim.core.now()
    order = sim.state.open_order(tables=parsed.values["tables"], now=now, date=pos_date(now))
    _apply(order, parsed.values)
    for line in lines:
        line.preorder = True
    order.checks[0].lines = lines
    sim.core.say(
        f"order {order.id} opened by maitred (id={order.hub_id}) on {','.join(order.tables)}, "
        f"check {order.checks[0].number}, {len(lines)} pre-order line(s)"
    )
    return json_response({"id": order.id, "checkNumber": order.checks[0].number}, status=201)


async def list_orders(request: web.Request) -> web.Response:
    """`GET /venue/{venueId}/orders?status=&from=&until=` (closed orders are never purged)."""
    sim = _sim(request)
    status = request.query.get("status")
    if status not in (None, "open", "closed"):
        raise ApiError(400, "status must be open or closed")
    start, end = _window(request.query.get("from"), request.query.get("until"))
    found = []
    for order in sim.state.orders.values():
        moment = (
            order.closed_at if order.status == "closed" and order.closed_at else order.updated_at
        )
        if status not in (None, order.status):
            continue
        if (start and moment < start) or (end and moment > end):
            continue
        found.append(order_json(order))
    return json_response(found)


def _window(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """The `from`/`until` filters; 400 when not ISO-8601."""
    try:
        return (parse_iso(start) if start else None, parse_iso(end) if end else None)
    except ValueError as exc:
        raise ApiError(400, "from/until must be ISO-8601 timestamps") from exc


async def get_order(request: web.Request) -> web.Response:
    """`GET /venue/{venueId}/orders/{orderId}` by POS id or maitred's id."""
    sim = _sim(request)
    return json_response(order_json(sim.state.find(request.match_info["orderId"])))


async def update_order(request: web.Request) -> web.Response:
    """`PUT /venue/{venueId}/orders/{orderId}`: tables, covers, guest, pre-order lines."""
    sim = _sim(request)
    if sim.core.faults.update_unsupported:
        raise ApiError(405, "Updating orders is not supported by this POS")
    order = sim.state.find(request.match_info["orderId"])
    parsed = parse_order_body(await read_object(request), creating=False)
    if "tables" in parsed.values:
        sim.state.check_tables(parsed.values["tables"])
    lines = sim.state.lines_for(parsed.items or [], sim.core.faults.unknown_skus)
    ensure_open(order)
    _apply(order, parsed.values)
    if parsed.items is not None:
        replace_preorders(order, lines, sim.core.now())
    else:
        order.touch(sim.core.now())
    sim.core.say(f"order {order.id} updated by maitred (tables {','.join(order.tables)})")
    return json_response(order_json(order))


def add_routes(app: web.Application) -> None:
    """Mount the partner-facing API."""
    app.router.add_get("/venue/{venueId}/tables", list_tables)
    app.router.add_post("/venue/{venueId}/orders", create_order)
    app.router.add_get("/venue/{venueId}/orders", list_orders)
    app.router.add_get("/venue/{venueId}/orders/{orderId}", get_order)
    app.router.add_put("/venue/{venueId}/orders/{orderId}", update_order)
