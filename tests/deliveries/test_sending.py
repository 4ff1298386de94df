"""Sending: signed Standard Webhooks requests with the Bearer token, exact bytes, stable ids,
and nothing secret left in what we store."""

from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import String, Text, select
from standardwebhooks import Webhook

from maitred.deliveries.models import Delivery, DeliveryAttempt, Endpoint
from maitred.errors import NotFound
from maitred.monitoring.models import Trace
from maitred.partners import ping
from maitred.runtime import Runtime
from tests.deliveries.helpers import (
    Received,
    add_partner,
    attempts_of,
    dispatching,
    enqueue,
    receiving,
    state_of,
    wait_until,
)


async def test_signature_verifies_and_bearer_token_is_sent(runtime: Runtime) -> None:
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"type": "booking", "id": "b-1"})
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
    (got,) = receiver.received
    payload = Webhook(partner.signing_secret).verify(got.body, got.headers)
    assert payload == {"type": "booking", "id": "b-1"}
    assert got.headers["Authorization"] == f"Bearer {partner.token}"
    assert got.headers["Content-Type"] == "application/json"
    assert got.webhook_id.startswith("msg_")
    stored = await runtime.writer.run(lambda s: s.get(Delivery, delivery_id))
    assert stored is not None
    assert got.body == stored.body.encode()  # the exact stored bytes


async def test_webhook_id_is_stable_across_retries(runtime: Runtime) -> None:
    async def fail_twice(_r: Received, nth: int) -> web.StreamResponse:
        return web.Response(status=503 if nth <= 2 else 200)

    async with receiving(fail_twice) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
    assert len(set(receiver.ids())) == 1
    assert [a.status_code for a in attempts_of(runtime, delivery_id)] == [503, 503, 200]


async def test_ping_reaches_a_real_receiver_signed(runtime: Runtime) -> None:
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await runtime.writer.run(
            lambda s: ping.enqueue_ping(s, partner_id=partner.id, correlation_id="c-ping")
        )
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
    (got,) = receiver.received
    payload = Webhook(partner.signing_secret).verify(got.body, got.headers)
    assert payload["type"] == "ping"
    assert payload["partnerId"] == partner.id
    assert payload["sentAt"].endswith("Z")
    assert got.headers["Authorization"] == f"Bearer {partner.token}"


async def test_ping_to_an_unknown_partner_is_not_found(runtime: Runtime) -> None:
    try:
        await runtime.writer.run(lambda s: ping.enqueue_ping(s, partner_id="nobody"))
    except NotFound:
        return
    raise AssertionError("expected NotFound")


def _stored_texts(runtime: Runtime) -> list[str]:
    """Every text column of every row the engine writes, plus the traces' header JSON."""
    texts: list[str] = []
    with runtime.db.read_sessions() as session:
        for model in (Trace, DeliveryAttempt, Delivery, Endpoint):
            columns = [c for c in model.__table__.columns if isinstance(c.type, (String, Text))]
            for row in session.execute(select(*columns)):
                texts.extend(str(v) for v in row if v is not None)
        texts.extend(json.dumps(h) for h in session.scalars(select(Trace.request_headers)))
    return texts


async def test_no_token_or_secret_is_stored_in_traces_or_attempts(runtime: Runtime) -> None:
    async def echo_credentials(r: Received, nth: int) -> web.StreamResponse:
        # A hostile receiver echoing our credentials back must not get them stored.
        echoed = f"auth={r.headers.get('Authorization')} sig={r.headers.get('webhook-signature')}"
        return web.Response(status=500 if nth == 1 else 200, text=echoed)

    async with receiving(echo_credentials) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
    texts = _stored_texts(runtime)
    assert any("[redacted]" in t for t in texts)
    raw_secret = partner.signing_secret.removeprefix("whsec_")
    for secret in (partner.token, partner.signing_secret, raw_secret):
        assert not [t for t in texts if secret in t]
    assert len(attempts_of(runtime, delivery_id)) == 2


async def test_every_attempt_is_traced_outbound(runtime: Runtime) -> None:
    async def big_nul_answer(_r: Received, _nth: int) -> web.StreamResponse:
        return web.Response(status=200, body=b"\x00ok" * 5000)

    async with receiving(big_nul_answer) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
    (attempt,) = attempts_of(runtime, delivery_id)
    assert attempt.response_body is not None
    assert "\x00" not in attempt.response_body
    assert len(attempt.response_body) <= runtime.settings.response_body_limit
    assert attempt.worker_id == "test-worker"
    with runtime.db.read_sessions() as session:
        (trace,) = session.scalars(select(Trace).where(Trace.delivery_id == delivery_id))
    assert trace.direction == "outbound"
    assert trace.status_code == 200
    assert trace.partner_id == partner.id
    assert trace.correlation_id == "corr-test"
    assert trace.request_headers is not None
    assert trace.request_headers["Authorization"] == "[redacted]"
