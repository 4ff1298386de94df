"""Leases: a heartbeat keeps a slow send's claim, a completion under an old attempt token
(after the delivery was reclaimed) changes nothing, and a stopping worker records what it sent."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Sequence
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.config import Settings
from maitred.db.batch import BatchConnection
from maitred.deliveries import claims, loop_cycle, outcomes, rules
from maitred.deliveries import dispatcher as dispatcher_module
from maitred.deliveries.dispatcher import Dispatcher
from maitred.deliveries.models import Delivery
from maitred.deliveries.results import AttemptResult, Breaker, record_results
from maitred.errors import ServiceUnavailable
from maitred.monitoring.service import TraceRecord
from maitred.runtime import Runtime
from tests.deliveries.helpers import (
    Received,
    add_partner,
    attempts_of,
    delivery,
    enqueue,
    receiving,
    runtime_with,
    state_of,
    wait_until,
)


async def test_heartbeat_keeps_a_slow_send_from_being_reclaimed(settings: Settings) -> None:
    async def slow(_r: Received, _nth: int) -> web.StreamResponse:
        await asyncio.sleep(1.2)  # four leases long
        return web.Response(text="ok")

    async with runtime_with(settings, lease_seconds=0.3) as runtime, receiving(slow) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        workers = [Dispatcher(runtime, worker_id=name) for name in ("one", "two")]
        for worker in workers:
            await worker.start()
        try:
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
        finally:
            for worker in workers:
                await worker.stop()
        assert len(receiver.received) == 1
        assert len(attempts_of(runtime, delivery_id)) == 1


def _result(claimed: claims.ClaimedDelivery) -> AttemptResult:
    at = now()
    return AttemptResult(
        delivery_id=claimed.id,
        endpoint_id=claimed.endpoint_id,
        attempt_token=claimed.attempt_token,
        number=claimed.attempt,
        worker_id="old",
        started_at=at,
        finished_at=at,
        duration_ms=1.0,
        status_code=200,
        error_class=None,
        error=None,
        response_body="ok",
        decision=rules.Decision("delivered", health="success"),
        trace=TraceRecord(at=at, direction="outbound", method="POST", url="u", status_code=200,
                          duration_ms=1.0),
    )  # fmt: skip


async def test_a_completion_under_a_reclaimed_token_changes_nothing(runtime: Runtime) -> None:
    partner = await add_partner(runtime, webhook_url="http://127.0.0.1:9/hook")
    delivery_id = await enqueue(runtime, partner, {"n": 1})
    spec = claims.Claim(worker_id="old", limit=1, lease_seconds=30, endpoint_cap=8, probe_wait=1)
    (old,) = await runtime.writer.run(lambda s: claims.claim(s, spec, {}))
    expired = now() - timedelta(seconds=1)
    await runtime.writer.run(lambda s: s.execute(update(Delivery).values(lease_expires_at=expired)))
    new_spec = claims.Claim(
        worker_id="new", limit=1, lease_seconds=30, endpoint_cap=8, probe_wait=1
    )
    (new,) = await runtime.writer.run(lambda s: claims.claim(s, new_spec, {}))
    assert new.id == old.id
    assert new.attempt_token != old.attempt_token
    assert new.attempt == 2
    breaker = Breaker(threshold=5, cooldown=1)
    await runtime.writer.run(lambda s: record_results(s, [_result(old)], breaker))
    stored = delivery(runtime, delivery_id)
    assert (stored.state, stored.lease_owner) == ("inflight", "new")
    await runtime.writer.run(lambda s: record_results(s, [_result(new)], breaker))
    assert state_of(runtime, delivery_id) == "delivered"


async def test_a_claimed_head_blocks_its_key_but_not_others(runtime: Runtime) -> None:
    partner = await add_partner(runtime, webhook_url="http://127.0.0.1:9/hook")
    first = await enqueue(runtime, partner, {"n": 1}, ordering_key="k")
    await enqueue(runtime, partner, {"n": 2}, ordering_key="k")
    other = await enqueue(runtime, partner, {"n": 3}, ordering_key="j")
    free = await enqueue(runtime, partner, {"n": 4})
    spec = claims.Claim(worker_id="w", limit=10, lease_seconds=30, endpoint_cap=8, probe_wait=1)
    claimed = await runtime.writer.run(lambda s: claims.claim(s, spec, {}))
    assert sorted(c.id for c in claimed) == [first, other, free]
    assert await runtime.writer.run(lambda s: claims.claim(s, spec, {})) == []


async def test_stop_returns_only_once_the_last_results_are_recorded(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result whose recording is still under way (in the writer, or in the loop's open
    transaction) when `stop` is called is durable when `stop` returns: the flush in progress is
    finished, not cancelled half-way."""
    recording = threading.Event()

    def slow_record(session: Session, results: list[AttemptResult], breaker: Breaker) -> None:
        recording.set()
        time.sleep(0.3)  # the writer thread is busy with this batch when stop is called
        record_results(session, results, breaker)

    async def slow_loop_record(
        connection: BatchConnection, results: Sequence[AttemptResult]
    ) -> None:
        recording.set()
        await asyncio.sleep(0.3)  # the loop's transaction is open when stop is called
        await loop_record(connection, results)

    loop_record = loop_cycle._record
    monkeypatch.setattr(dispatcher_module, "record_results", slow_record)
    monkeypatch.setattr(loop_cycle, "_record", slow_loop_record)
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        worker = Dispatcher(runtime, worker_id="stopping")
        await worker.start()
        try:
            await wait_until(recording.is_set, what="the result to be recording")
        finally:
            await worker.stop()
        assert len(receiver.received) == 1
        assert state_of(runtime, delivery_id) == "delivered"


async def test_a_hook_finding_the_database_away_fails_the_whole_record(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outcome hook's own failure is logged and the attempt still recorded; but a hook that
    finds the database away must not be swallowed: the transaction is unusable, and hiding it
    made the commit fail with an error the writer could not recognise, so the dispatcher
    dropped the result and the POS got the same create again. Now the record is refused as
    unavailable, nothing is half-written, and the same result is recorded once it is back."""
    partner = await add_partner(runtime, webhook_url="http://127.0.0.1:9/hook")
    delivery_id = await enqueue(runtime, partner, {"n": 1})
    spec = claims.Claim(worker_id="old", limit=1, lease_seconds=30, endpoint_cap=8, probe_wait=1)
    (claimed,) = await runtime.writer.run(lambda s: claims.claim(s, spec, {}))
    result = dataclasses.replace(_result(claimed), kind="test.hooked")
    breaker = Breaker(threshold=5, cooldown=1)

    def database_away(_session: Session, _outcome: outcomes.Outcome) -> None:
        raise OperationalError("UPDATE pos_orders", {}, ConnectionResetError("server closed"))

    monkeypatch.setattr(outcomes, "_hooks", {"test.hooked": database_away})
    with pytest.raises(ServiceUnavailable):
        await runtime.writer.run(lambda s: record_results(s, [result], breaker))
    assert state_of(runtime, delivery_id) == "inflight"
    assert attempts_of(runtime, delivery_id) == []
    monkeypatch.setattr(outcomes, "_hooks", {})
    await runtime.writer.run(lambda s: record_results(s, [result], breaker))
    assert state_of(runtime, delivery_id) == "delivered"
