"""What an ordering channel exposes to maitred: one webhook receiver for `ORDER_UPDATED`,
`STORE_UPDATED` and `MENU_UPDATED` (contracts §2.13), which checks both signatures (decision 19),
records each webhook with its problems, and reads an updated order's `callbackUrl`."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError
from standardwebhooks import Webhook

from maitred.channel_orders.rules import FINAL, RANK
from maitred.connectors.rbi import mapping, signature
from maitred.connectors.rbi.errors import validation_body
from maitred.connectors.rbi.events_wire import ChannelEvent, OrderUpdated
from maitred.simulators.channel_sim import CHANNEL_KEY, ChannelSim, Received
from maitred.simulators.common import error_response, json_response, parse_body

EVENTS: TypeAdapter[ChannelEvent] = TypeAdapter(ChannelEvent)
WEBHOOK_PATH = "/webhooks/rbi"


def _signatures(sim: ChannelSim, raw: bytes, headers: dict[str, str]) -> tuple[str, str]:
    """The `x-signature` and Standard Webhooks verdicts (unchecked without a secret)."""
    secret = sim.config.signing_secret
    if not secret:
        return "unchecked", "unchecked"
    plain = "valid" if signature.verify(raw, secret, headers.get(signature.HEADER)) else "invalid"
    if "webhook-signature" not in headers:
        return plain, "absent"
    try:
        Webhook(secret).verify(raw, headers)
    except Exception:  # any verification failure (bad header, bad signature) means "invalid"
        return plain, "invalid"
    return plain, "valid"


async def receive(request: web.Request) -> web.Response:
    """`POST /webhooks/rbi`: record, check, answer 200 (401 on a bad signature)."""
    sim = request.app[CHANNEL_KEY]
    raw = await request.read()
    headers = {k.lower(): v for k, v in request.headers.items()}
    plain, standard = _signatures(sim, raw, headers)
    event = Received(
        seq=len(sim.events) + 1,
        received_at=sim.core.now().isoformat(),
        webhook_id=headers.get("webhook-id"),
        signature=plain,
        standard=standard,
        body=parse_body(raw),
    )
    sim.events.append(event)
    if "invalid" in (plain, standard):
        event.answered = 401
        event.problems.append(f"signature: x-signature {plain}, Standard Webhooks {standard}")
        return error_response(401, "Invalid signature")
    if standard == "absent":
        event.problems.append("no Standard Webhooks signature beside x-signature (decision 19)")
    if event.webhook_id is not None and event.webhook_id in sim.seen_webhook_ids:
        event.duplicate = True
        return json_response({"ok": True, "duplicate": True})
    if event.webhook_id is not None:
        sim.seen_webhook_ids.add(event.webhook_id)
    _judge(sim, event, raw)
    sim.core.say(f"webhook {_describe(event.body)}: {'; '.join(event.problems) or 'ok'}")
    return json_response({"ok": True})


def _judge(sim: ChannelSim, event: Received, raw: bytes) -> None:
    """Record what is wrong with the webhook; follow an order update's `callbackUrl`."""
    try:
        parsed = EVENTS.validate_json(raw)
    except ValidationError as exc:
        event.problems += [f"{e.location}: {e.message}" for e in validation_body(exc).errors]
        return
    if isinstance(parsed, OrderUpdated):
        event.problems += _sequence_problems(sim, parsed)
        if sim.config.follow_callbacks:
            sim.follow(event, parsed.callbackUrl)


def _sequence_problems(sim: ChannelSim, update: OrderUpdated) -> list[str]:
    """An order's statuses only move forward, and a final one never changes (decision 13)."""
    before = sim.statuses.get(update.id)
    if before is not None and before != update.status:
        old, new = mapping.status(before), mapping.status(update.status)
        if old in FINAL:
            return [f"order {update.id}: {update.status} after the final {before}"]
        if new not in FINAL and RANK[new] < RANK[old]:
            return [f"order {update.id}: {update.status} after {before} (backwards)"]
    sim.statuses[update.id] = update.status
    return []


def _describe(body: Any) -> str:
    if not isinstance(body, dict):
        return "(not a JSON object)"
    return " ".join(str(body.get(k)) for k in ("eventType", "id", "storeId", "status") if k in body)


def add_routes(app: web.Application) -> None:
    """Mount the webhook receiver."""
    app.router.add_post(WEBHOOK_PATH, receive)
