"""The delivery loop of one process: claim a batch → send concurrently → buffer the results →
write them in batches. Wakes on an in-process enqueue, or polls (more slowly while idle)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections import Counter
from datetime import datetime, timedelta

import structlog

from maitred.clock import get_clock, now
from maitred.deliveries import claims, rules, sender, wake
from maitred.deliveries.models import PENDING
from maitred.deliveries.results import AttemptResult, Breaker, record_results
from maitred.errors import ServiceUnavailable
from maitred.logs import TickLog
from maitred.runtime import Runtime

log = structlog.get_logger(__name__)
# One line per recorded outcome, written per event-loop tick (P3 sends thousands a second).
outcomes_log = TickLog("maitred.deliveries")

CRASH_ENV = "MAITRED_CRASH_AT"  # test hook: after_claim | after_send | after_record
IDLE_BACKOFF = 4  # an idle worker polls at most this many poll intervals apart
FLUSH_LINGER = 0.01  # seconds a result may wait for others to share its commit
# Seconds a busy worker waits after a send frees a slot before claiming again, so the slots
# that free together are refilled by one claim instead of one claim each.
CLAIM_LINGER = 0.005
PROBE_RECORD = 1.0  # seconds allowed for a probe's result to be recorded after its timeout


def make_worker_id(configured: str | None) -> str:
    """The configured worker id, or hostname-pid-random."""
    if configured:
        return configured[:64]
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


def _crash_point(point: str, configured: str | None) -> None:
    if configured == point:
        os._exit(137)  # deterministic crash for tests: no cleanup, like kill -9


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Until `event` is set or `seconds` of the process clock have passed."""
    if event.is_set() or seconds <= 0:
        return
    waiter = asyncio.ensure_future(event.wait())
    sleeper = asyncio.ensure_future(get_clock().sleep(seconds))
    try:
        await asyncio.wait((waiter, sleeper), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiter, sleeper):
            task.cancel()


class Dispatcher:
    """Delivers due deliveries until stopped; any number of these may run on PostgreSQL."""

    def __init__(self, runtime: Runtime, *, worker_id: str | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.worker_id = make_worker_id(worker_id or runtime.settings.worker_id)
        self._crash_at = os.environ.get(CRASH_ENV)
        self._credentials = sender.CredentialCache(runtime.secrets)
        self._breaker = Breaker(
            threshold=self.settings.breaker_threshold,
            cooldown=self.settings.breaker_cooldown * self.settings.retry_scale,
            disable_after=rules.RetryPolicy.from_settings(self.settings).disable_after,
        )
        # A half-open circuit is held for its one probe until the probe's answer can have been
        # recorded: the cooldown, or the attempt timeout when that is longer (else a slow probe
        # would let a second one through, and a third...).
        probe_answered = self.settings.delivery_timeout + PROBE_RECORD
        self._probe_wait = max(self._breaker.cooldown, probe_answered)
        self._held: dict[str, claims.ClaimedDelivery] = {}  # by attempt token, until recorded
        self._sending: Counter[int] = Counter()  # sends in progress per endpoint
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: list[AttemptResult] = []
        self._wake = asyncio.Event()
        self._results_ready = asyncio.Event()
        self._stopping = False
        self._flushing = True  # the flush loop runs until stop has no more sends to wait for
        self._next_due: datetime | None = None
        self._background: list[asyncio.Task[None]] = []
        self.sent = 0

    async def start(self) -> None:
        """Subscribe to enqueue wake-ups and start the loops."""
        await self.runtime.open_http()
        wake.subscribe(self._wake)
        loop = asyncio.get_running_loop()
        self._background = [
            loop.create_task(self._claim_loop(), name="deliveries-claim"),
            loop.create_task(self._flush_loop(), name="deliveries-flush"),
            loop.create_task(self._heartbeat_loop(), name="deliveries-heartbeat"),
        ]
        log.info("dispatcher started", worker_id=self.worker_id)

    async def stop(self) -> None:
        """Stop claiming, finish the sends in flight, record them; other leases just expire."""
        if not self._background:
            return  # never started
        self._stopping = True
        self._wake.set()
        wake.unsubscribe(self._wake)
        claim_loop, flush_loop, heartbeat = self._background
        await _ended(claim_loop)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        # The flush loop ends by itself after the flush it may be in: cancelling it there would
        # return before that batch commits (the writer still runs it), so a caller reading the
        # deliveries right after stop saw them in flight.
        self._flushing = False
        self._results_ready.set()
        await _ended(flush_loop)
        heartbeat.cancel()
        await _ended(heartbeat)
        await self._flush()
        self._background = []
        log.info("dispatcher stopped", worker_id=self.worker_id, sent=self.sent)

    async def _claim_loop(self) -> None:
        idle = self.settings.poll_interval
        while not self._stopping:
            self._wake.clear()
            room = self.settings.worker_concurrency - len(self._tasks)
            limit = min(room, self.settings.claim_batch)
            claimed: list[claims.ClaimedDelivery] = []
            if limit > 0:
                try:
                    claimed = await self._claim(limit)
                except ServiceUnavailable:  # the database is away: one line per poll, no trace
                    log.warning("claim postponed: database unavailable")
                except Exception:
                    log.exception("claim failed")
            for delivery in claimed:
                self._spawn(delivery)
            if claimed and len(claimed) == limit:
                continue  # probably more due right now
            idle = self.settings.poll_interval if claimed else idle
            await _wait(self._wake, self._pause(idle))
            if self._tasks and not self._stopping:
                await asyncio.sleep(CLAIM_LINGER)
            if not claimed:
                idle = min(idle * 2, self.settings.poll_interval * IDLE_BACKOFF)

    def _pause(self, idle: float) -> float:
        if self._next_due is None:
            return idle
        until_due = (self._next_due - now()).total_seconds()
        if until_due <= idle:
            self._next_due = None  # it will be claimed by the poll after this wait
        return max(min(idle, until_due), 0.0)

    async def _claim(self, limit: int) -> list[claims.ClaimedDelivery]:
        spec = claims.Claim(
            worker_id=self.worker_id,
            limit=limit,
            lease_seconds=self.settings.lease_seconds,
            endpoint_cap=self.settings.endpoint_concurrency,
            probe_wait=self._probe_wait,
        )
        sending = dict(self._sending)
        claimed = await self.runtime.writer.run(lambda s: claims.claim(s, spec, sending))
        if claimed:
            _crash_point("after_claim", self._crash_at)
        return claimed

    def _spawn(self, delivery: claims.ClaimedDelivery) -> None:
        self._held[delivery.attempt_token] = delivery
        self._sending[delivery.endpoint_id] += 1
        task = asyncio.get_running_loop().create_task(self._send(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, delivery: claims.ClaimedDelivery) -> None:
        try:
            http = await self.runtime.open_http()
            result = await sender.attempt(
                http,
                delivery,
                credentials=self._credentials.get(delivery),
                settings=self.settings,
                worker_id=self.worker_id,
            )
            _crash_point("after_send", self._crash_at)
            self._results.append(result)
            self._results_ready.set()
            self.sent += 1
        except Exception:
            # The lease expires and another claim retries it: at-least-once, never lost.
            log.exception("send failed", delivery_id=delivery.id)
            self._held.pop(delivery.attempt_token, None)
        finally:
            self._sending[delivery.endpoint_id] -= 1
            self._wake.set()  # a slot is free

    async def _flush_loop(self) -> None:
        while self._flushing:
            await self._results_ready.wait()
            # Linger briefly while sends of the same round finish: one commit for all of them.
            deadline = asyncio.get_running_loop().time() + FLUSH_LINGER
            while self._tasks and len(self._results) < self.settings.claim_batch:
                if asyncio.get_running_loop().time() >= deadline:
                    break
                await asyncio.sleep(FLUSH_LINGER / 10)
            self._results_ready.clear()
            await self._flush()

    async def _flush(self) -> None:
        batch, self._results = self._results, []
        if not batch:
            return
        breaker = self._breaker
        try:
            await self.runtime.writer.run(lambda s: record_results(s, batch, breaker))
        except ServiceUnavailable:
            # The database is away: keep the results, and their leases (the heartbeat renews
            # them once it is back), and record them then instead of sending them all again.
            log.warning("recording results postponed", results=len(batch))
            self._results[:0] = batch
            self._results_ready.set()
            await asyncio.sleep(self.settings.poll_interval)
            return
        except Exception:
            log.exception("recording results failed", results=len(batch))
        else:
            for result in batch:
                log_outcome(result)
        for result in batch:
            self._held.pop(result.attempt_token, None)
            if result.decision.state == PENDING and result.decision.delay is not None:
                due = result.finished_at + timedelta(seconds=result.decision.delay)
                self._next_due = due if self._next_due is None else min(self._next_due, due)
        _crash_point("after_record", self._crash_at)
        self._wake.set()  # the next delivery of an ordering key may now be claimable

    async def _heartbeat_loop(self) -> None:
        lease = self.settings.lease_seconds
        while True:
            await get_clock().sleep(lease / 3)
            if self._held:
                await self._extend(list(self._held), lease)

    async def _extend(self, tokens: list[str], lease: float) -> None:
        try:
            await self.runtime.writer.run(
                lambda s: claims.extend_leases(s, tokens=tokens, lease_seconds=lease)
            )
        except ServiceUnavailable:
            log.warning("lease heartbeat postponed: database unavailable")
        except Exception:
            log.exception("lease heartbeat failed")


def log_outcome(result: AttemptResult) -> None:
    """The info line of one recorded attempt: what was sent where, and what comes next."""
    decision = result.decision
    outcomes_log.info(
        "delivery " + ("retry scheduled" if decision.state == PENDING else decision.state),
        delivery_id=result.delivery_id,
        kind=result.kind,
        partner=result.trace.partner_id,
        url=result.trace.url.split("?", 1)[0],  # a query string may carry a credential
        attempt=result.number,
        status=result.status_code,
        error=result.error,
        retry_in_s=round(decision.delay, 1)
        if decision.state == PENDING and decision.delay
        else None,
        correlation_id=result.trace.correlation_id,
    )


async def _ended(task: asyncio.Task[None]) -> None:
    """Wait for a background loop that is ending; what it failed with is logged, not raised:
    stopping goes on, so the sends in flight are still recorded."""
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    except Exception:
        log.exception("dispatcher loop failed while stopping", loop=task.get_name())
