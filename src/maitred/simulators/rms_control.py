"""The RMS simulator's control API (`/_sim`, no auth): make and change bookings (each sent to
maitred's `POST /rms` in full), read what arrived, inject faults.

Booking actions answer `{"booking", "hub", "held", "sent"}`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from maitred.simulators.common import ApiError, calls_json, json_response, read_object
from maitred.simulators.faults import RMS_FAULTS, FaultError
from maitred.simulators.rms_sim import RMS_KEY, RmsSim

WIRE_ORDER = (
    "bookingId",
    "venueId",
    "partySize",
    "status",
    "tables",
    "date",
    "prepayment",
    "contact",
    "notes",
    "items",
    "checks",
)


def _merge(sim: RmsSim, booking: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply changes (null removes a field; table names become ids) and check the result."""
    merged = dict(booking)
    for key, value in changes.items():
        if key in ("bookingId", "venueId"):
            continue
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = sim.translate_tables(value) if key == "tables" else value
    size, status, date = merged.get("partySize"), merged.get("status"), merged.get("date")
    if isinstance(size, bool) or not isinstance(size, int):
        raise ApiError(400, "partySize must be an integer")
    if not isinstance(status, str) or not status:
        raise ApiError(400, "status must be a string such as 'seated'")
    if "tables" not in merged:
        raise ApiError(400, "tables are required")
    if isinstance(date, bool) or not isinstance(date, int):
        raise ApiError(400, "date must be Unix seconds")
    ordered = {key: merged[key] for key in WIRE_ORDER if key in merged}
    return ordered | {k: v for k, v in merged.items() if k not in ordered}


async def _send(sim: RmsSim, booking: dict[str, Any]) -> web.Response:
    outcome = await sim.send_booking(booking)
    return json_response({"booking": booking, **outcome.as_json()})


async def create_booking(request: web.Request) -> web.Response:
    """`POST /_sim/bookings {bookingId?, partySize, status, tables, date?, …}`."""
    sim = request.app[RMS_KEY]
    body = await read_object(request)
    booking_id = body.get("bookingId") or sim.new_booking_id()
    if not isinstance(booking_id, str):
        raise ApiError(400, "bookingId must be a string")
    if booking_id in sim.bookings:
        raise ApiError(409, f"Booking {booking_id} exists; PATCH it")
    start = {
        "bookingId": booking_id,
        "venueId": sim.venue,
        "date": int(sim.core.now().timestamp()),
    }
    booking = _merge(sim, start, body)
    sim.bookings[booking_id] = booking
    sim.core.say(f"booking {booking_id}: {booking['status']} for {booking['partySize']}")
    return await _send(sim, booking)


def _booking(request: web.Request) -> tuple[RmsSim, dict[str, Any]]:
    sim = request.app[RMS_KEY]
    booking_id = request.match_info["bookingId"]
    if booking_id not in sim.bookings:
        raise ApiError(404, f"Booking {booking_id} not found")
    return sim, sim.bookings[booking_id]


async def change_booking(request: web.Request) -> web.Response:
    """`PATCH /_sim/bookings/{bookingId} {changed fields}`: merge, then resend the full state."""
    sim, booking = _booking(request)
    changed = _merge(sim, booking, await read_object(request))
    sim.bookings[changed["bookingId"]] = changed
    sim.core.say(f"booking {changed['bookingId']}: now {changed['status']}")
    return await _send(sim, changed)


async def resend_booking(request: web.Request) -> web.Response:
    """`POST /_sim/bookings/{bookingId}/resend`: send the same state again."""
    sim, booking = _booking(request)
    return await _send(sim, booking)


async def list_bookings(request: web.Request) -> web.Response:
    """`GET /_sim/bookings`."""
    return json_response(list(request.app[RMS_KEY].bookings.values()))


async def list_events(request: web.Request) -> web.Response:
    """`GET /_sim/events[?checkNumber=]`: every pos_order event with its problems."""
    sim = request.app[RMS_KEY]
    number = request.query.get("checkNumber")
    events = [
        e.as_json()
        for e in sim.events
        if number is None or (isinstance(e.body, dict) and e.body.get("checkNumber") == number)
    ]
    return json_response(events)


async def state(request: web.Request) -> web.Response:
    """`GET /_sim/state`: venue, tables, bookings, per-check history, events, faults."""
    sim = request.app[RMS_KEY]
    return json_response(
        {
            "venue": sim.venue,
            "tables": [vars(t) for t in sim.tables],
            "bookings": list(sim.bookings.values()),
            "checks": {number: vars(h) for number, h in sim.checks.items()},
            "events": [e.as_json() for e in sim.events],
            "problems": sum(len(e.problems) for e in sim.events),
            "faults": sim.core.faults.as_dict(),
            "held": sim.hub.held is not None,
        }
    )


async def calls(request: web.Request) -> web.Response:
    """`GET /_sim/calls`: every request maitred made, with the status answered."""
    return json_response(calls_json(request.app[RMS_KEY].core))


async def set_faults(request: web.Request) -> web.Response:
    """`POST /_sim/faults {...switches}`."""
    sim = request.app[RMS_KEY]
    try:
        sim.core.faults.apply(await read_object(request), RMS_FAULTS)
    except FaultError as exc:
        raise ApiError(400, str(exc)) from exc
    sim.core.say(f"faults set: {sim.core.faults.as_dict()}")
    return json_response(sim.core.faults.as_dict())


async def reset_faults(request: web.Request) -> web.Response:
    """`DELETE /_sim/faults`: no faults; a held booking is sent now."""
    sim = request.app[RMS_KEY]
    sim.core.faults.reset()
    outcome = await sim.hub.flush()
    sim.core.say("faults reset")
    return json_response({"faults": sim.core.faults.as_dict(), **outcome.as_json()})


async def flush(request: web.Request) -> web.Response:
    """`POST /_sim/flush`: send a held booking now."""
    return json_response((await request.app[RMS_KEY].hub.flush()).as_json())


def add_routes(app: web.Application) -> None:
    """Mount the control API under `/_sim`."""
    app.router.add_post("/_sim/bookings", create_booking)
    app.router.add_get("/_sim/bookings", list_bookings)
    app.router.add_patch("/_sim/bookings/{bookingId}", change_booking)
    app.router.add_post("/_sim/bookings/{bookingId}/resend", resend_booking)
    app.router.add_get("/_sim/events", list_events)
    app.router.add_get("/_sim/state", state)
    app.router.add_get("/_sim/calls", calls)
    app.router.add_post("/_sim/faults", set_faults)
    app.router.add_delete("/_sim/faults", reset_faults)
    app.router.add_post("/_sim/flush", flush)
