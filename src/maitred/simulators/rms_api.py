"""The endpoints an RMS must expose, as maitred calls them (seed 000 §1-2): the table list and
the `pos_order` webhook receiver, which records and judges every event."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook

from maitred.simulators.common import ApiError, error_response, json_response, parse_body
from maitred.simulators.rms_checks import sequence_problems, shape_problems
from maitred.simulators.rms_sim import RMS_KEY, ReceivedEvent, RmsSim


async def list_tables(request: web.Request) -> web.Response:
    """`GET /venue/{venueId}/tables` → `[{id, name}]`."""
    sim = request.app[RMS_KEY]
    venue = request.match_info["venueId"]
    if venue != sim.venue:
        raise ApiError(404, f"Venue {venue} not found")
    return json_response([{"id": t.id, "name": t.name} for t in sim.tables])


def _signature(sim: RmsSim, raw: bytes, headers: dict[str, str]) -> tuple[str, str | None]:
    """`unchecked` without a secret, else `valid` or `invalid` with the reason."""
    secret = sim.core.config.signing_secret
    if not secret:
        return "unchecked", None
    try:
        Webhook(secret).verify(raw, headers)
    except Exception as exc:  # any verification failure means "invalid"
        return "invalid", f"signature: {type(exc).__name__}: {exc}"
    return "valid", None


async def pos_order(request: web.Request) -> web.Response:
    """`POST /webhooks/pos-order`: record, check against the contract, answer 200."""
    sim = request.app[RMS_KEY]
    raw = await request.read()
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"}
    event = ReceivedEvent(
        seq=len(sim.events) + 1,
        received_at=sim.core.now().isoformat(),
        webhook_id=headers.get("webhook-id"),
        headers=headers,
        signature="unchecked",
        body=parse_body(raw),
        answered=200,
    )
    sim.events.append(event)
    event.signature, reason = _signature(sim, raw, dict(request.headers))
    if reason is not None:
        return _reject(sim, event, 401, reason)
    if not isinstance(event.body, dict):
        return _reject(sim, event, 400, "body is not a JSON object")
    if event.webhook_id is not None and event.webhook_id in sim.seen_webhook_ids:
        event.duplicate = True
        sim.core.say(f"pos_order {_describe(event.body)}: duplicate webhook-id {event.webhook_id}")
        return json_response({"ok": True, "duplicate": True})
    if event.webhook_id is not None:
        sim.seen_webhook_ids.add(event.webhook_id)
    event.problems = shape_problems(event.body, venue=sim.venue, table_ids=sim.table_ids())
    event.problems += sequence_problems(event.body, sim.checks)
    verdict = "ok" if not event.problems else "PROBLEMS: " + "; ".join(event.problems)
    sim.core.say(f"pos_order {_describe(event.body)}: {verdict}")
    return json_response({"ok": True})


def _reject(sim: RmsSim, event: ReceivedEvent, status: int, reason: str) -> web.Response:
    """Refuse an event (it does not count toward the check's history)."""
    event.problems.append(reason)
    event.answered = status
    sim.core.say(f"pos_order rejected ({status}): {reason}")
    return error_response(status, reason)


def _describe(body: dict[str, Any]) -> str:
    """`type check status booking` for the log line."""
    return (
        f"{body.get('type')} check {body.get('checkNumber')} {body.get('status')} "
        f"booking={json.dumps(body.get('bookingId'))}"
    )


def add_routes(app: web.Application) -> None:
    """Mount the partner-facing API."""
    app.router.add_get("/venue/{venueId}/tables", list_tables)
    app.router.add_post("/webhooks/pos-order", pos_order)
