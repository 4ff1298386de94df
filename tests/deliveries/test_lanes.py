"""The send pipeline: lanes fed from a queue claimed ahead of them, one bookkeeping cycle (one
transaction) for every result that finished since the last one and the next claim, queued
sends of a failing endpoint given back unattempted, a lane that never sends on a lost lease,
and a stop that gives back what no lane started and records what they sent."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from maitred.clock import now
from maitred.config import Settings
from maitred.deliveries import claims, loop_cycle, sender
from maitred.deliveries.dispatcher import Dispatcher
from maitred.deliveries.models import Delivery, DeliveryAttempt
from maitred.runtime import Runtime
from tests.deliveries.helpers import (
    Received,
    add_partner,
    attempts_of,
    delivery,
    enqueue,
    receiving,
    runtime_with,
    wait_until,
)


def _states(runtime: Runtime) -> dict[str, int]:
    with runtime.db.read_sessions() as session:
        query = select(Delivery.state, func.count()).group_by(Delivery.state)
        return {state: int(n) for state, n in session.execute(query)}


def _attempt_rows(runtime: Runtime) -> int:
    with runtime.db.read_sessions() as session:
        return int(session.scalar(select(func.count()).select_from(DeliveryAttempt)) or 0)


def test_prepared_signature_is_the_standard_webhooks_one() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    prepared = sender.Prepared(sender.Credentials(token="t" * 40, signing_secret=secret))
    body = b'{"a":1,"b":"\xc3\xa9"}'
    headers = prepared.headers("msg_1", body)
    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign("msg_1", at, body.decode())
    assert headers["webhook-signature"] == expected
    # A second message reuses the prepared key, not the state left by the first.
    again = prepared.headers("msg_2", b"{}")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"msg_2.{again['webhook-timestamp']}.{{}}".encode(), hashlib.sha256)
    assert again["webhook-signature"] == "v1," + base64.b64encode(mac.digest()).decode()
    assert headers["Authorization"] == "Bearer " + "t" * 40
    trace = prepared.trace_headers(headers)
    assert "t" * 40 not in trace
    assert headers["webhook-signature"] not in trace
    assert '"webhook-id": "msg_1"' in trace


async def test_one_cycle_records_results_and_claims_in_one_transaction(runtime: Runtime) -> None:
    """The results of a cycle and its next claim are written as one transaction: one commit."""
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        ids = [await enqueue(runtime, partner, {"n": n}) for n in range(6)]
        worker = Dispatcher(runtime, worker_id="cycle")
        worker._claim_more = True
        # A first cycle claims (the lanes are not running: nothing is sent yet).
        assert await worker._cycle() == 6
        sent = list(worker._ready)
        worker._ready.clear()
        http = await runtime.open_http()
        results = [
            await sender.attempt(
                http,
                d,
                prepared=worker._credentials.prepared(d),
                limits=worker._limits,
                worker_id=worker.worker_id,
            )
            for d in sent[:4]
        ]
        worker._results.extend(results)
        worker._give_back.extend(sent[4:])
        more = [await enqueue(runtime, partner, {"n": n}) for n in range(6, 9)]
        worker._claim_more = True
        batches, jobs = runtime.writer.batches, runtime.writer.jobs
        loop_batches = runtime.batches.batches
        assert await worker._cycle() == 5  # the three new ones and the two given back
        # Plain results: the cycle is one transaction of the loop's, none of the writer's.
        assert runtime.batches.batches - loop_batches == 1
        assert (runtime.writer.batches - batches, runtime.writer.jobs - jobs) == (0, 0)
        assert {d.id for d in worker._ready} == set(ids[4:] + more)
        assert [len(attempts_of(runtime, i)) for i in ids] == [1, 1, 1, 1, 0, 0]
        assert len(receiver.received) == 4


async def _claim_and_send(
    runtime: Runtime, worker: Dispatcher, n: int, *, send: int | None = None
) -> list[claims.ClaimedDelivery]:
    """Claim `n` queued deliveries in a cycle and send the first `send` of them once (no
    lanes), their results not yet recorded; returns the ones not sent."""
    worker._claim_more = True
    assert await worker._cycle() == n
    claimed = list(worker._ready)
    worker._ready.clear()
    http = await runtime.open_http()
    for d in claimed[:send]:
        result = await sender.attempt(
            http,
            d,
            prepared=worker._credentials.prepared(d),
            limits=worker._limits,
            worker_id=worker.worker_id,
        )
        worker._results.append(result)
    return claimed[len(claimed) if send is None else send :]


async def test_a_cycle_with_a_failure_is_written_by_the_writer(runtime: Runtime) -> None:
    """A failure counts towards the endpoint's circuit and schedules a retry: that cycle goes
    through the writer (one job), which records it as before."""

    async def failing(_received: Received, _nth: int) -> web.StreamResponse:
        return web.Response(status=500)

    async with receiving(failing) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        worker = Dispatcher(runtime, worker_id="failing")
        await _claim_and_send(runtime, worker, 1)
        jobs, loop_batches = runtime.writer.jobs, runtime.batches.batches
        await worker._cycle()
        assert (runtime.writer.jobs - jobs, runtime.batches.batches - loop_batches) == (1, 0)
    assert [a.status_code for a in attempts_of(runtime, delivery_id)] == [500]
    with runtime.db.read_sessions() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        assert (row.state, row.last_status, row.attempt_token) == ("pending", 500, None)


async def test_a_loop_cycle_that_fails_is_written_by_the_writer_instead(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle the loop fails to write (a bug, not the database) is rolled back whole and
    written by the writer's cycle: every result recorded once, nothing half-written."""
    calls: list[int] = []

    async def broken(*_args: object) -> None:
        calls.append(1)
        raise RuntimeError("a bug in the loop's cycle")

    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        ids = [await enqueue(runtime, partner, {"n": n}) for n in range(4)]
        worker = Dispatcher(runtime, worker_id="fallback")
        unsent = await _claim_and_send(runtime, worker, 4, send=3)
        monkeypatch.setattr(loop_cycle, "_release", broken)
        worker._give_back.extend(unsent)  # a part that fails after the record
        jobs = runtime.writer.jobs
        await worker._cycle()
        assert calls == [1]
        assert runtime.writer.jobs - jobs == 1
    assert [len(attempts_of(runtime, i)) for i in ids] == [1, 1, 1, 0]
    assert _states(runtime) == {"delivered": 3, "pending": 1}  # the fourth given back


async def test_a_lane_never_sends_a_delivery_whose_lease_was_lost(runtime: Runtime) -> None:
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        spec = claims.Claim(
            worker_id="lost", limit=1, lease_seconds=30, endpoint_cap=8, probe_wait=1
        )
        (claimed,) = await runtime.writer.run(lambda s: claims.claim(s, spec, {}))
        # Its lease ran out while it was queued, and another worker holds it now.
        other = claims.Claim(
            worker_id="other", limit=1, lease_seconds=30, endpoint_cap=8, probe_wait=1
        )

        def expire_and_reclaim(session: Session) -> list[claims.ClaimedDelivery]:
            session.execute(update(Delivery).values(lease_expires_at=now() - timedelta(seconds=1)))
            return claims.claim(session, other, {})

        (reclaimed,) = await runtime.writer.run(expire_and_reclaim)
        worker = Dispatcher(runtime, worker_id="lost")
        await worker.start()
        try:
            worker._held[claimed.id] = claimed
            worker._per_endpoint[claimed.endpoint_id] += 1
            worker._leases[claimed.attempt_token] = now() - timedelta(seconds=1)
            worker._ready.append(claimed)
            worker._offer()
            await wait_until(lambda: not worker._held, what="the delivery to be given back")
            await asyncio.sleep(0.2)
        finally:
            await worker.stop()
        assert receiver.received == []
        stored = delivery(runtime, delivery_id)
        # Giving it back changed nothing: the other worker's claim stands.
        assert (stored.state, stored.lease_owner) == ("inflight", "other")
        assert stored.attempt_token == reclaimed.attempt_token
        assert attempts_of(runtime, delivery_id) == []


async def test_stop_gives_back_what_no_lane_started_and_records_what_was_sent(
    settings: Settings,
) -> None:
    started = asyncio.Event()

    async def slow(_r: Received, _nth: int) -> web.StreamResponse:
        started.set()
        await asyncio.sleep(0.3)
        return web.Response(text="ok")

    async with (
        runtime_with(settings, endpoint_concurrency=2, worker_concurrency=4) as runtime,
        receiving(slow) as receiver,
    ):
        partner = await add_partner(runtime, webhook_url=receiver.url)
        for n in range(12):
            await enqueue(runtime, partner, {"n": n})
        worker = Dispatcher(runtime, worker_id="stopping")
        await worker.start()
        await asyncio.wait_for(started.wait(), 10)
        await worker.stop()
        states = _states(runtime)
        assert "inflight" not in states
        # What went out is recorded, each once; the rest waits, pending and unattempted.
        assert states.get("delivered", 0) == len(receiver.received) >= 1
        assert states.get("pending", 0) == 12 - len(receiver.received)
        assert _attempt_rows(runtime) == len(receiver.received)
        with runtime.db.read_sessions() as session:
            pending = session.scalars(select(Delivery).where(Delivery.state == "pending")).all()
            assert {(d.attempts, d.lease_owner, d.attempt_token) for d in pending} == {
                (0, None, None)
            }


async def test_a_failing_endpoints_queued_sends_are_held_not_failed_one_by_one(
    settings: Settings,
) -> None:
    async def unavailable(_r: Received, _nth: int) -> web.StreamResponse:
        await asyncio.sleep(0.05)
        return web.Response(status=503)

    overrides = {
        "breaker_threshold": 2,
        "breaker_cooldown": 30.0,
        "endpoint_concurrency": 1,
        "retry_scale": 1.0,  # no retry falls due while the test looks
    }
    async with runtime_with(settings, **overrides) as runtime, receiving(unavailable) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        for n in range(20):
            await enqueue(runtime, partner, {"n": n})
        worker = Dispatcher(runtime, worker_id="holding")
        await worker.start()
        try:
            await wait_until(lambda: len(receiver.received) >= 2, what="two failures")
            await wait_until(lambda: not worker._held, what="the queue to be given back")
            await asyncio.sleep(0.3)
        finally:
            await worker.stop()
        # One send at a time: the circuit opened after two failures, and the 18 others were
        # given back, never attempted, instead of each failing in turn.
        assert len(receiver.received) == 2
        assert _attempt_rows(runtime) == 2
        assert _states(runtime) == {"pending": 20}
