"""Issue 5, point 1: `maitred worker` processes killed at each named crash point, and kill -9 at
random during thousands of deliveries (restarted under the same worker id, or a new one).

Nothing is lost; a message goes out twice only if it was in flight at a kill, and then always
under the same webhook-id; a running worker redelivers it within the lease plus one sweep.
`MAITRED_SOAK_SECONDS` (`make soak`) runs the random kills for that long instead."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maitred.config import Settings
from maitred.deliveries import service
from maitred.deliveries.models import INFLIGHT, Delivery
from maitred.runtime import Runtime
from tests.deliveries.helpers import PartnerCreds, Receiver, add_partner, wait_until
from tests.reliability.conftest import Record
from tests.reliability.procs import Workers, soak_seconds, sweep_seconds

LEASE = 2.0  # seconds; short, so a crashed worker's deliveries come back soon
CRASH_POINTS = ["after_claim", "after_send", "after_record"]
FAST_DELIVERIES = 2000  # the fast suite's random-kill run
SOAK_BACKLOG = 1000  # the soak queues more only while fewer are pending


def _crash_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"lease_seconds": LEASE, "poll_interval": 0.05, "endpoint_concurrency": 16}
    )


def _queue(partner: PartnerCreds, first: int, count: int) -> Callable[[Session], None]:
    def job(session: Session) -> None:
        for n in range(first, first + count):
            service.enqueue(
                session,
                endpoint_id=partner.endpoint_id,
                partner_id=partner.id,
                kind="test.event",
                url=partner.webhook_url,
                body={"n": n},
            )

    return job


def _count(runtime: Runtime, state: str) -> int:
    with runtime.db.read_sessions() as session:
        query = select(func.count()).where(Delivery.state == state)
        return int(session.scalar(query) or 0)


def _held_by(runtime: Runtime, worker_id: str) -> set[str]:
    """Message ids the (dead) worker still holds: claimed, not recorded."""
    with runtime.db.read_sessions() as session:
        query = select(Delivery.message_id).where(
            Delivery.state == INFLIGHT, Delivery.lease_owner == worker_id
        )
        return set(session.scalars(query))


@dataclass(frozen=True)
class Arrival:
    """One request as the receiver saw it: its webhook-id, the body's `n`, when it arrived."""

    webhook_id: str
    n: int
    at: float  # time.monotonic()


@dataclass
class Tally(Receiver):
    """The helpers' receiver, keeping only an `Arrival` per request (the soak sends hundreds of
    thousands) and answering 200 after a few milliseconds, so kills catch sends in flight."""

    arrivals: list[Arrival] = field(default_factory=list)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        self.arrivals.append(Arrival(request.headers["webhook-id"], body["n"], time.monotonic()))
        await asyncio.sleep(random.uniform(0.0, 0.02))
        return web.Response(text="ok")


@asynccontextmanager
async def tallying() -> AsyncIterator[Tally]:
    """A started `Tally`, stopped at the end of the block."""
    receiver = Tally()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


@dataclass
class Kill:
    """One kill: when (time.monotonic()), and what the dead worker held."""

    at: float
    held: set[str]


@dataclass
class Outcome:
    """What the receiver saw, judged against the kills."""

    total: int
    arrivals: list[Arrival]
    kills: list[Kill] = field(default_factory=list)

    def by_message(self) -> dict[int, set[str]]:
        ids: dict[int, set[str]] = defaultdict(set)
        for arrival in self.arrivals:
            ids[arrival.n].add(arrival.webhook_id)
        return ids

    def lost(self) -> int:
        return self.total - len(self.by_message())

    def duplicated(self) -> dict[str, int]:
        counts = Counter(a.webhook_id for a in self.arrivals)
        return {message: count - 1 for message, count in counts.items() if count > 1}

    def redelivery_delays(self, since: Callable[[Kill], float]) -> list[float]:
        """For each message held at a kill: from `since(kill)` to its next arrival. A message
        the worker that took it over was killed holding too, before sending it, is counted
        from that later kill: what is bounded is how long one dead worker's claim keeps a
        message back (random kills of both workers can otherwise chain two leases)."""
        times: dict[str, list[float]] = defaultdict(list)
        for arrival in self.arrivals:
            times[arrival.webhook_id].append(arrival.at)
        delays = []
        for kill in self.kills:
            for message in kill.held:
                after = [at for at in times[message] if at > kill.at]
                assert after, f"{message} held at a kill never came back"
                back = min(after)
                if any(kill.at < k.at < back and message in k.held for k in self.kills):
                    continue  # held again at a later kill: counted from that one
                delays.append(back - since(kill))
        return delays

    def check(self) -> None:
        """0 lost; one webhook-id per message; duplicates only of messages held at a kill."""
        assert self.lost() == 0
        assert all(len(ids) == 1 for ids in self.by_message().values())
        held = set().union(*(k.held for k in self.kills)) if self.kills else set()
        assert set(self.duplicated()) <= held


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("point", CRASH_POINTS)
async def test_a_worker_crashing_at_each_point_loses_nothing(
    point: str, runtime: Runtime, settings: Settings, tmp_path: Path, figure: Record
) -> None:
    settings = _crash_settings(settings)
    total = 40
    async with tallying() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        await runtime.writer.run(_queue(partner, 0, total))
        with Workers(settings, tmp_path / "workers") as workers:
            crashing = workers.start("w1", MAITRED_CRASH_AT=point)
            code = await asyncio.to_thread(crashing.wait, 60)
            crashed = time.monotonic()
            assert code == 137, workers.output()
            workers.running.pop("w1")
            outcome = Outcome(total, receiver.arrivals, [Kill(crashed, _held_by(runtime, "w1"))])
            if point != "after_record":  # (after recording, it may hold nothing more)
                assert outcome.kills[0].held  # it died holding claims
            if point == "after_claim":
                assert not receiver.arrivals  # it died before sending anything
            workers.start("w1")  # the same worker id again
            ready = await workers.until_ready("w1")
            await wait_until(lambda: _count(runtime, "delivered") == total, timeout=60)
            codes = await workers.stop_all()
    assert codes == {"w1": 0}, workers.output()
    outcome.check()
    if point == "after_send":
        assert outcome.duplicated()  # sent, never recorded: it goes again
    # A running worker takes an expired lease at its next claim: within lease + one sweep of
    # the crash, or of the replacement's start when it booted later than the lease ran out.
    delays = outcome.redelivery_delays(since=lambda kill: max(kill.at, ready - LEASE))
    bound = LEASE + sweep_seconds(settings)
    figure(
        crash_point=point,
        deliveries=total,
        kills=1,
        held_at_crash=len(outcome.kills[0].held),
        lost=outcome.lost(),
        duplicates=sum(outcome.duplicated().values()),
        max_redelivery_s=round(max(delays), 2),
        lease_s=LEASE,
        bound_s=bound,
    )
    assert max(delays) <= bound * 1.5  # a margin for a busy machine


async def _feed(runtime: Runtime, partner: PartnerCreds, *, seconds: float | None) -> int:
    """Queue deliveries in batches while the workers are being killed: `FAST_DELIVERIES`, or
    for `seconds` (the soak, which keeps the backlog under `SOAK_BACKLOG`). Returns how many
    were queued."""
    queued, batch = 0, 100
    started = time.monotonic()
    while queued < FAST_DELIVERIES if seconds is None else time.monotonic() - started < seconds:
        if seconds is None or _count(runtime, "pending") < SOAK_BACKLOG:
            await runtime.writer.run(_queue(partner, queued, batch))
            queued += batch
        await asyncio.sleep(0.2)
    return queued


async def _chaos(
    workers: Workers, runtime: Runtime, kills: list[Kill], stop: asyncio.Event, *, soak: bool
) -> None:
    """Every fraction of a second (every second or two in the soak), kill -9 a started worker
    while another one runs, then start it again: under the same worker id twice in three
    times, else under a new one."""
    restarts = 0
    while not stop.is_set():
        await asyncio.sleep(random.uniform(1.0, 3.0) if soak else random.uniform(0.2, 0.6))
        ready = [w for w in workers.running if workers.ready(w)]
        if len(ready) < 2:
            continue
        victim = random.choice(ready)
        await workers.kill(victim)
        kills.append(Kill(time.monotonic(), _held_by(runtime, victim)))
        restarts += 1
        workers.start(victim if restarts % 3 else f"{victim.split('-')[0]}-{restarts}")


@pytest.mark.slow
@pytest.mark.e2e
async def test_random_kill_9_during_thousands_of_deliveries_loses_nothing(
    runtime: Runtime, settings: Settings, tmp_path: Path, figure: Record
) -> None:
    settings = _crash_settings(settings)
    seconds = soak_seconds()
    kills: list[Kill] = []
    async with tallying() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        with Workers(settings, tmp_path / "workers") as workers:
            for name in ("w1", "w2"):
                workers.start(name)
            for name in ("w1", "w2"):
                await workers.until_ready(name)
            stop = asyncio.Event()
            chaos = asyncio.create_task(_chaos(workers, runtime, kills, stop, soak=bool(seconds)))
            try:
                total = await _feed(runtime, partner, seconds=seconds)
                await wait_until(
                    lambda: _count(runtime, "delivered") == total, timeout=120, what="delivered"
                )
            finally:
                stop.set()
                await chaos
            for name in list(workers.running):  # SIGTERM before boot is a plain exit -15
                await workers.until_ready(name)
            codes = await workers.stop_all()
    assert set(codes.values()) == {0}, workers.output()
    outcome = Outcome(total, receiver.arrivals, kills)
    outcome.check()
    delays = outcome.redelivery_delays(since=lambda kill: kill.at)
    bound = LEASE + sweep_seconds(settings)
    figure(
        deliveries=total,
        kills=len(kills),
        held_at_kills=sum(len(k.held) for k in kills),
        lost=outcome.lost(),
        duplicates=sum(outcome.duplicated().values()),
        max_redelivery_s=round(max(delays, default=0.0), 2),
        lease_s=LEASE,
        bound_s=bound,
    )
    assert kills
    assert max(delays, default=0.0) <= bound * 1.5  # a margin for a busy machine
