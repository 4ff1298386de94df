"""Retries: the scaled schedule with jitter, Retry-After, the slow floor after 429, giving up,
per-key order while a head is retried, coalescing, 410 and the circuit breaker."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import timedelta

from aiohttp import web
from sqlalchemy import update

from maitred.clock import now
from maitred.config import Settings
from maitred.deliveries import claims, service
from maitred.deliveries.models import DeliveryAttempt, Endpoint
from maitred.runtime import Runtime
from tests.deliveries.helpers import (
    Received,
    add_partner,
    attempts_of,
    delivery,
    dispatching,
    enqueue,
    receiving,
    runtime_with,
    state_of,
    wait_until,
)


def _gaps(attempts: list[DeliveryAttempt]) -> list[float]:
    """Seconds from the end of each attempt to the start of the next."""
    return [
        (b.started_at - a.started_at).total_seconds() - a.duration_ms / 1000
        for a, b in itertools.pairwise(attempts)
    ]


async def _status(code: int, headers: dict[str, str] | None = None) -> web.StreamResponse:
    return web.Response(status=code, headers=headers or {})


async def test_retry_schedule_is_followed_with_jitter(settings: Settings) -> None:
    schedule, scale, jitter = [1.0, 2.0, 3.0], 0.25, 0.2

    async def always_500(_r: Received, _nth: int) -> web.StreamResponse:
        return await _status(500)

    overrides = {"retry_schedule": schedule, "retry_scale": scale, "retry_jitter": jitter}
    async with runtime_with(settings, **overrides) as runtime, receiving(always_500) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "failed")
        attempts = attempts_of(runtime, delivery_id)
    assert [a.number for a in attempts] == [1, 2, 3, 4]
    for gap, step in zip(_gaps(attempts), schedule, strict=True):
        low, high = step * scale * (1 - jitter), step * scale * (1 + jitter)
        assert low - 0.01 <= gap <= high + 0.5, (gap, low, high)


async def test_retry_after_is_a_lower_bound(settings: Settings) -> None:
    async def busy_once(_r: Received, nth: int) -> web.StreamResponse:
        return await _status(503, {"Retry-After": "20"}) if nth == 1 else await _status(200)

    async with runtime_with(settings, retry_scale=0.05) as runtime, receiving(busy_once) as rcv:
        partner = await add_partner(runtime, webhook_url=rcv.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
        (gap,) = _gaps(attempts_of(runtime, delivery_id))
    # schedule says 1 s * 0.05; Retry-After says 20 s * 0.05 = 1 s
    assert 1.0 - 0.01 <= gap <= 1.0 + 1.5


async def test_429_waits_at_least_the_slow_floor(settings: Settings) -> None:
    async def limited_once(_r: Received, nth: int) -> web.StreamResponse:
        return await _status(429 if nth == 1 else 200)

    overrides = {"retry_scale": 0.05, "slow_retry_floor": 20.0}
    async with runtime_with(settings, **overrides) as runtime, receiving(limited_once) as rcv:
        partner = await add_partner(runtime, webhook_url=rcv.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
        (gap,) = _gaps(attempts_of(runtime, delivery_id))
    assert 1.0 - 0.01 <= gap <= 1.0 + 1.5  # floor 20 s * 0.05, not schedule 1 s * 0.05


async def test_other_4xx_fails_without_retry(runtime: Runtime) -> None:
    async def bad_request(_r: Received, _nth: int) -> web.StreamResponse:
        return await _status(400)

    async with receiving(bad_request) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "failed")
            await asyncio.sleep(0.3)
    (attempt,) = attempts_of(runtime, delivery_id)
    assert attempt.error_class == "PartnerRejected"


async def test_per_key_order_holds_while_the_head_is_retried(runtime: Runtime) -> None:
    first: list[str] = []

    async def fail_first_three(r: Received, nth: int) -> web.StreamResponse:
        if not first:
            first.append(r.webhook_id)
        return await _status(503 if r.webhook_id == first[0] and nth <= 3 else 200)

    async with receiving(fail_first_three) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        one = await enqueue(runtime, partner, {"n": 1}, ordering_key="check:1")
        two = await enqueue(runtime, partner, {"n": 2}, ordering_key="check:1")
        other = await enqueue(runtime, partner, {"n": 3}, ordering_key="check:2")
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, two) == "delivered")
    ids = receiver.ids()
    id_one = ids[0]
    id_two = next(r.webhook_id for r in receiver.received if b'"n":2' in r.body)
    id_other = next(r.webhook_id for r in receiver.received if b'"n":3' in r.body)
    assert ids.count(id_one) == 4
    last_of_one = max(i for i, w in enumerate(ids) if w == id_one)
    assert ids.index(id_two) > last_of_one  # never before message 1 succeeded
    assert ids.index(id_other) < last_of_one  # another key is not held back
    assert state_of(runtime, one) == state_of(runtime, other) == "delivered"


async def test_a_superseded_payload_is_not_sent(runtime: Runtime) -> None:
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        old = await enqueue(runtime, partner, {"v": "old"}, coalesce_key="order:1")
        new = await enqueue(runtime, partner, {"v": "new"}, coalesce_key="order:1")
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, new) == "delivered")
            await asyncio.sleep(0.2)
    assert state_of(runtime, old) == "superseded"
    assert [r.body for r in receiver.received] == [b'{"v":"new"}']


async def test_a_retrying_payload_superseded_is_not_sent_again(settings: Settings) -> None:
    async def fail_old(r: Received, _nth: int) -> web.StreamResponse:
        return await _status(503 if b"old" in r.body else 200)

    async with runtime_with(settings, retry_scale=1.0) as runtime, receiving(fail_old) as rcv:
        partner = await add_partner(runtime, webhook_url=rcv.url)
        old = await enqueue(runtime, partner, {"v": "old"}, coalesce_key="order:1")
        async with dispatching(runtime):
            await wait_until(lambda: len(attempts_of(runtime, old)) == 1)
            new = await enqueue(runtime, partner, {"v": "new"}, coalesce_key="order:1")
            await wait_until(lambda: state_of(runtime, new) == "delivered")
        assert state_of(runtime, old) == "superseded"
    assert [r.body for r in rcv.received] == [b'{"v":"old"}', b'{"v":"new"}']


async def test_a_payload_superseded_while_in_flight_is_not_retried(runtime: Runtime) -> None:
    release = asyncio.Event()

    async def hold_then_fail_old(r: Received, _nth: int) -> web.StreamResponse:
        if b"old" in r.body:
            await release.wait()
            return await _status(503)
        return await _status(200)

    async with receiving(hold_then_fail_old) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        old = await enqueue(runtime, partner, {"v": "old"}, coalesce_key="order:1")
        async with dispatching(runtime):
            await wait_until(lambda: len(receiver.received) == 1)
            new = await enqueue(runtime, partner, {"v": "new"}, coalesce_key="order:1")
            await wait_until(lambda: state_of(runtime, new) == "delivered")
            release.set()
            await wait_until(lambda: state_of(runtime, old) != "inflight")
            await asyncio.sleep(0.3)
    stored = delivery(runtime, old)
    assert (stored.state, stored.superseded_by) == ("superseded", new)
    assert sum(b"old" in r.body for r in receiver.received) == 1


async def test_410_disables_the_endpoint_until_enabled(runtime: Runtime) -> None:
    """The 410'd delivery is kept pending with what is queued behind it, and goes first in its
    key once the endpoint is enabled: no replay, no reordering."""
    gone = [True]

    async def gone_until_fixed(_r: Received, _nth: int) -> web.StreamResponse:
        return await _status(410 if gone[0] else 200)

    async with receiving(gone_until_fixed) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        first = await enqueue(runtime, partner, {"n": 1}, ordering_key="check:1")
        async with dispatching(runtime):
            await wait_until(lambda: len(attempts_of(runtime, first)) == 1)
            later = await enqueue(runtime, partner, {"n": 2}, ordering_key="check:1")
            await asyncio.sleep(0.4)
            assert (state_of(runtime, first), state_of(runtime, later)) == ("pending", "pending")
            assert len(receiver.received) == 1
            endpoint = await runtime.writer.run(lambda s: s.get(Endpoint, partner.endpoint_id))
            assert endpoint is not None
            assert endpoint.disabled_at is not None
            assert "410" in (endpoint.disabled_reason or "")
            gone[0] = False
            await runtime.writer.run(lambda s: service.enable_endpoint(s, partner.endpoint_id))
            await wait_until(lambda: state_of(runtime, later) == "delivered")
        assert state_of(runtime, first) == "delivered"
    assert [json.loads(r.body)["n"] for r in receiver.received] == [1, 1, 2]


async def test_breaker_opens_after_consecutive_failures(settings: Settings) -> None:
    async def down(_r: Received, _nth: int) -> web.StreamResponse:
        return await _status(502)

    overrides = {"breaker_threshold": 2, "breaker_cooldown": 30.0, "retry_scale": 0.05}
    async with runtime_with(settings, **overrides) as runtime, receiving(down) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        async with dispatching(runtime):
            await wait_until(lambda: len(receiver.received) == 2)
            await asyncio.sleep(0.6)  # the schedule alone would have retried twice more
            endpoint = await runtime.writer.run(lambda s: s.get(Endpoint, partner.endpoint_id))
        assert len(receiver.received) == 2
        assert state_of(runtime, delivery_id) == "pending"
    assert endpoint is not None
    assert endpoint.consecutive_failures == 2
    assert endpoint.circuit_open_until is not None
    assert endpoint.failing_since is not None
    assert endpoint.last_error == "HTTP 502"


def _circuit_open(runtime: Runtime, endpoint_id: int) -> bool:
    with runtime.db.read_sessions() as session:
        endpoint = session.get(Endpoint, endpoint_id)
        return endpoint is not None and endpoint.circuit_open_until is not None


async def test_after_the_cooldown_a_probe_goes_and_a_success_closes_the_circuit(
    settings: Settings,
) -> None:
    async def down_twice(_r: Received, _nth: int) -> web.StreamResponse:
        return await _status(502 if len(receiver.received) <= 2 else 200)

    overrides = {"breaker_threshold": 2, "breaker_cooldown": 10.0, "retry_scale": 0.05}
    async with runtime_with(settings, **overrides) as runtime, receiving(down_twice) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        first = await enqueue(runtime, partner, {"n": 0})
        async with dispatching(runtime):
            await wait_until(lambda: len(receiver.received) == 2)
            # The receiver sees the second failure before the hub records it; wait for the
            # recorded open circuit, or the next messages could be claimed just before it.
            await wait_until(lambda: _circuit_open(runtime, partner.endpoint_id))
            ids = [first] + [await enqueue(runtime, partner, {"n": n}) for n in (1, 2)]
            await wait_until(lambda: all(state_of(runtime, i) == "delivered" for i in ids))
        endpoint = await runtime.writer.run(lambda s: s.get(Endpoint, partner.endpoint_id))
    assert endpoint is not None
    assert endpoint.consecutive_failures == 0
    assert (endpoint.circuit_open_until, endpoint.failing_since) == (None, None)
    assert endpoint.last_success_at is not None
    # Nothing went while the circuit was open (cooldown 10 s * 0.05).
    assert receiver.received[2].at - receiver.received[1].at >= 0.5 * 0.9


async def test_a_half_open_circuit_lets_one_probe_through(runtime: Runtime) -> None:
    partner = await add_partner(runtime, webhook_url="http://127.0.0.1:9/hook")
    for n in range(3):
        await enqueue(runtime, partner, {"n": n})
    cooled = now() - timedelta(seconds=1)
    await runtime.writer.run(
        lambda s: s.execute(update(Endpoint).values(circuit_open_until=cooled))
    )
    spec = claims.Claim(worker_id="w", limit=10, lease_seconds=30, endpoint_cap=8, probe_wait=60)
    assert len(await runtime.writer.run(lambda s: claims.claim(s, spec, {}))) == 1
    assert await runtime.writer.run(lambda s: claims.claim(s, spec, {})) == []


async def test_a_probe_slower_than_the_cooldown_is_still_the_only_one(settings: Settings) -> None:
    """The attempt timeout (2 s) is longer than the scaled cooldown (0.05 s) and every answer
    takes 0.3 s: while a probe waits, no second probe goes to the half-open circuit."""
    in_flight, peak = [0], [0]

    async def slow_failure(_r: Received, _nth: int) -> web.StreamResponse:
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        try:
            await asyncio.sleep(0.3)
            return await _status(503)
        finally:
            in_flight[0] -= 1

    overrides = {
        "breaker_threshold": 1,
        "breaker_cooldown": 1.0,
        "retry_scale": 0.05,
        "delivery_timeout": 2.0,
    }
    async with runtime_with(settings, **overrides) as runtime, receiving(slow_failure) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        await enqueue(runtime, partner, {"n": 0})
        async with dispatching(runtime):
            await wait_until(lambda: _circuit_open(runtime, partner.endpoint_id))
            for n in range(1, 9):
                await enqueue(runtime, partner, {"n": n})
            peak[0] = in_flight[0]
            await asyncio.sleep(1.5)  # five probes' time, thirty cooldowns
        probes = len(receiver.received) - 1
    assert probes >= 2  # the circuit was probed again and again...
    assert peak[0] == 1  # ...one probe at a time
