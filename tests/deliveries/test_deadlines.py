"""Deliveries with a deadline (`expires_at`, docs/decisions/0016): dropped with a trace once it is
past, never sent late, and never retried at or after it; and the RBI contract's second
signature beside Standard Webhooks (decision 19)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import datetime, timedelta

from aiohttp import web
from standardwebhooks import Webhook

from maitred.clock import now
from maitred.config import Settings
from maitred.deliveries import claims, sender, service
from maitred.deliveries.models import DeliveryAttempt
from maitred.runtime import Runtime
from tests.deliveries.helpers import (
    PartnerCreds,
    Received,
    add_partner,
    attempts_of,
    delivery,
    dispatching,
    receiving,
    runtime_with,
    state_of,
    wait_until,
)


async def _enqueue(runtime: Runtime, partner: PartnerCreds, expires_at: datetime) -> int:
    return await runtime.writer.run(
        lambda s: service.enqueue(
            s,
            endpoint_id=partner.endpoint_id,
            partner_id=partner.id,
            kind="rbi.price",
            url=partner.webhook_url,
            body={"n": 1},
            expires_at=expires_at,
        )
    )


async def test_a_delivery_past_its_deadline_is_dropped_unsent(runtime: Runtime) -> None:
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        late = await _enqueue(runtime, partner, now() - timedelta(seconds=1))
        timely = await _enqueue(runtime, partner, now() + timedelta(seconds=30))
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, timely) == "delivered")
            await wait_until(lambda: state_of(runtime, late) == "expired")
    assert len(receiver.received) == 1  # only the timely one reached the partner
    dropped = delivery(runtime, late)
    assert dropped.last_error == claims.DROPPED
    assert attempts_of(runtime, late) == []


async def test_the_sender_drops_a_claimed_delivery_whose_deadline_passed(
    runtime: Runtime,
) -> None:
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await _enqueue(runtime, partner, now() + timedelta(seconds=30))
        spec = claims.Claim("w", 10, 30, 10, 5)
        [claimed] = await runtime.writer.run(lambda s: claims.claim(s, spec, {}))
        stale = replace(claimed, expires_at=now() - timedelta(milliseconds=1))
        http = await runtime.open_http()
        result = await sender.attempt(
            http,
            stale,
            prepared=sender.Prepared(sender.Credentials(None, None)),
            limits=sender.Limits.from_settings(runtime.settings),
            worker_id="w",
        )
    assert result.decision.state == "expired"
    assert result.error == claims.DROPPED
    assert receiver.received == []
    assert delivery_id == claimed.id


async def test_a_retry_is_never_scheduled_at_or_past_the_deadline(settings: Settings) -> None:
    async def always_500(_r: Received, _nth: int) -> web.StreamResponse:
        return web.Response(status=500)

    overrides = {"retry_schedule": [0.5, 0.5, 60.0, 60.0], "retry_scale": 1.0, "retry_jitter": 0}
    async with runtime_with(settings, **overrides) as runtime, receiving(always_500) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await _enqueue(runtime, partner, now() + timedelta(seconds=3))
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "expired", timeout=10)
        attempts: list[DeliveryAttempt] = attempts_of(runtime, delivery_id)
    # 0 s, 0.5 s, 1 s: the next would be a minute later, past the 3 s deadline.
    assert len(attempts) == 3
    assert len(receiver.received) == 3


async def test_an_rbi_webhook_verifies_with_standard_webhooks_and_a_plain_hmac(
    runtime: Runtime,
) -> None:
    """Decision 19, checked with verifiers independent of maitred's own code: the
    `standardwebhooks` library, and `hmac` over the exact bytes with the secret as given."""
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await runtime.writer.run(
            lambda s: service.enqueue(
                s,
                endpoint_id=partner.endpoint_id,
                partner_id=partner.id,
                kind="rbi.order_updated",
                url=partner.webhook_url,
                body={"eventType": "ORDER_UPDATED", "id": "o-1", "status": "PRICED"},
            )
        )
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
    [got] = receiver.received
    headers = {k.lower(): v for k, v in got.headers.items()}
    Webhook(partner.signing_secret).verify(got.body, headers)  # raises when it does not verify
    plain = hmac.new(partner.signing_secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-signature"], plain)
    tampered = hmac.new(partner.signing_secret.encode(), got.body + b" ", hashlib.sha256)
    assert headers["x-signature"] != tampered.hexdigest()
