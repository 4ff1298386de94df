"""The delivery engine of one process: long-lived send lanes fed from an in-process queue, and
one bookkeeping cycle that keeps them fed and writes down what they did.

- **Lanes** (`worker_concurrency` tasks) take claimed deliveries from the queue and send them,
  at most `endpoint_concurrency` at once to one endpoint. A lane never sends a delivery whose
  lease has run out, nor one of an endpoint that is failing (its circuit would open, or it
  answered 410): those are given back, pending, unattempted.
- **The cycle** runs whenever there is something to do: it records every result that finished
  since the last one and gives back what the lanes set aside, then claims enough to keep the
  queue ahead of the lanes (up to `claim_batch` beyond them). One cycle is one transaction,
  whatever the number of sends it covers: written by the event loop itself when every result
  in it is plain (`loop_cycle`, docs/decisions/0035), else as one writer job.

Wakes on an in-process enqueue, on a finished send, or polls (more slowly while idle).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import sys
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy.orm import Session

from maitred.clock import get_clock, now
from maitred.db.errors import database_unavailable
from maitred.deliveries import claims, loop_cycle, rules, sender, wake
from maitred.deliveries.claims import ClaimedDelivery
from maitred.deliveries.models import PENDING
from maitred.deliveries.results import AttemptResult, Breaker, record_results
from maitred.errors import ServiceUnavailable
from maitred.logs import TickLog
from maitred.runtime import Runtime

T = TypeVar("T")
log = structlog.get_logger(__name__)
# One line per recorded outcome, written per event-loop tick (P3 sends thousands a second).
outcomes_log = TickLog("maitred.deliveries")

CRASH_ENV = "MAITRED_CRASH_AT"  # test hook: after_claim | after_send | after_record
IDLE_BACKOFF = 4  # an idle worker polls at most this many poll intervals apart
PROBE_RECORD = 1.0  # seconds allowed for a probe's result to be recorded after its timeout
# Under load a claim waits until the queue is down to half of `claim_batch` (a claim's queries
# cost the same for 5 rows as for 100), or this many seconds since the last one (so work due
# for other endpoints is not kept waiting behind one whose sends are slow).
CLAIM_INTERVAL = 0.05
# Seconds finished results may wait for others to share their cycle while sends are under way.
RECORD_LINGER = 0.005
# The lanes' event loop and the writer thread share one GIL. At the default switch interval
# (5 ms) each of the loop's I/O waits could cost it up to 5 ms behind the writer's SQL work
# before it ran again; at 1 ms the P3 worker sent 1.5-2x as fast for the same CPU
# (docs/decisions/0018).
GIL_SWITCH_INTERVAL = 0.001


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
        self.settings = settings = runtime.settings
        self.worker_id = make_worker_id(worker_id or settings.worker_id)
        self._crash_at = os.environ.get(CRASH_ENV)
        self._credentials = sender.CredentialCache(runtime.secrets)
        self._limits = sender.Limits.from_settings(settings)
        policy = self._limits.policy
        self._breaker = Breaker(
            threshold=settings.breaker_threshold,
            cooldown=settings.breaker_cooldown * settings.retry_scale,
            disable_after=policy.disable_after,
        )
        # A half-open circuit is held for its one probe until the probe's answer can have been
        # recorded: the cooldown, or the attempt timeout when that is longer (else a slow probe
        # would let a second one through, and a third...).
        probe_answered = settings.delivery_timeout + PROBE_RECORD
        self._probe_wait = max(self._breaker.cooldown, probe_answered)
        self._lanes_wanted = max(1, settings.worker_concurrency)
        self._send_cap = max(1, settings.endpoint_concurrency)
        # Claimed ahead of the lanes: the queue never runs dry while a cycle is in the writer.
        self._ahead = max(1, settings.claim_batch)
        self._held: dict[int, ClaimedDelivery] = {}  # by delivery id: claimed, not recorded
        self._per_endpoint: Counter[int] = Counter()  # held deliveries per endpoint
        self._leases: dict[str, datetime] = {}  # attempt token → when its lease runs out
        self._ready: deque[ClaimedDelivery] = deque()  # claimed, waiting for a lane
        self._parked: dict[int, deque[ClaimedDelivery]] = {}  # waiting for their endpoint's cap
        self._sending: Counter[int] = Counter()  # sends in progress per endpoint
        self._failing: Counter[int] = Counter()  # failures in a row seen here, per endpoint
        self._holding: set[int] = set()  # endpoints whose queued deliveries are given back
        self._idle: deque[asyncio.Future[None]] = deque()  # lanes waiting for work
        self._results: list[AttemptResult] = []
        self._give_back: list[ClaimedDelivery] = []
        self._kick = asyncio.Event()  # something for the cycle to do
        self._wake = asyncio.Event()  # a delivery was enqueued in this process
        self._stopping = False
        self._claim_more = True  # the last claim was full, or something may have become due
        self._unavailable = False  # the last cycle found the database away
        self._last_claim = 0.0  # event-loop time of the last claim
        self._next_due: datetime | None = None
        self._lanes: list[asyncio.Task[None]] = []
        self._background: list[asyncio.Task[None]] = []
        self.sent = 0
        self.stats: Counter[str] = Counter()  # cycles, claims, claimed, recorded

    async def start(self) -> None:
        """Subscribe to enqueue wake-ups and start the lanes and the loops."""
        await self.runtime.open_http()
        if sys.getswitchinterval() > GIL_SWITCH_INTERVAL:
            sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        wake.subscribe(self._wake)
        loop = asyncio.get_running_loop()
        self._lanes = [
            loop.create_task(self._lane(), name=f"deliveries-lane-{n}")
            for n in range(self._lanes_wanted)
        ]
        self._background = [
            loop.create_task(self._cycle_loop(), name="deliveries-cycle"),
            loop.create_task(self._heartbeat_loop(), name="deliveries-heartbeat"),
        ]

    async def stop(self) -> None:
        """Stop claiming, give back what no lane has started, finish the sends in flight and
        record them; returns once they are recorded. Other leases just expire."""
        if not self._background:
            return  # never started
        self._stopping = True
        wake.unsubscribe(self._wake)
        self._give_back.extend(self._ready)
        self._ready.clear()
        for parked in self._parked.values():
            self._give_back.extend(parked)
        self._parked.clear()
        while self._idle:  # idle lanes see the stop and end
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
        await asyncio.gather(*self._lanes, return_exceptions=True)
        self._kick.set()
        cycle, heartbeat = self._background
        await _ended(cycle)  # it ends after a last cycle with nothing left to record
        heartbeat.cancel()
        await _ended(heartbeat)
        self._background = []
        self._lanes = []
        log.info("dispatcher stopped", worker_id=self.worker_id, sent=self.sent, **self.stats)

    # -- lanes ---------------------------------------------------------------------------------

    async def _lane(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            delivery = self._take()
            if delivery is None:
                if self._stopping:
                    return
                waiter: asyncio.Future[None] = loop.create_future()
                self._idle.append(waiter)
                await waiter
                continue
            try:
                await self._send(delivery)
            finally:
                self._sent_one(delivery.endpoint_id)

    def _take(self) -> ClaimedDelivery | None:
        """The next delivery a lane may send now, setting aside what it may not."""
        ready = self._ready
        while ready:
            delivery = ready.popleft()
            endpoint_id = delivery.endpoint_id
            if endpoint_id in self._holding or not self._lease_holds(delivery):
                self._set_aside(delivery)
                continue
            if self._sending[endpoint_id] >= self._send_cap:
                self._parked.setdefault(endpoint_id, deque()).append(delivery)
                continue
            self._sending[endpoint_id] += 1
            return delivery
        return None

    def _lease_holds(self, delivery: ClaimedDelivery) -> bool:
        until = self._leases.get(delivery.attempt_token)
        if until is None:
            return False
        # Not before it runs out: a margin here made every delivery unsendable on a machine
        # slow enough that the time from a claim to its lane exceeded the lease minus it.
        return now() < until

    def _set_aside(self, delivery: ClaimedDelivery) -> None:
        """Not to be sent by this worker now: given back at the next cycle."""
        self._give_back.append(delivery)
        self._kick.set()

    def _sent_one(self, endpoint_id: int) -> None:
        self._sending[endpoint_id] -= 1
        parked = self._parked.get(endpoint_id)
        if parked:
            self._ready.appendleft(parked.popleft())
            if not parked:
                del self._parked[endpoint_id]
            self._offer()

    def _offer(self) -> None:
        """Wake as many idle lanes as there are deliveries waiting."""
        idle, ready = self._idle, self._ready
        for _ in range(min(len(idle), len(ready))):
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def _send(self, delivery: ClaimedDelivery) -> None:
        try:
            http = await self.runtime.open_http()
            result = await sender.attempt(
                http,
                delivery,
                prepared=self._credentials.prepared(delivery),
                limits=self._limits,
                worker_id=self.worker_id,
            )
        except Exception:
            # The lease expires and another claim retries it: at-least-once, never lost.
            log.exception("send failed", delivery_id=delivery.id)
            self._forget(delivery)
            return
        _crash_point("after_send", self._crash_at)
        self._results.append(result)
        self.sent += 1
        self._note_health(result)
        self._kick.set()

    def _note_health(self, result: AttemptResult) -> None:
        """Hold an endpoint's queued deliveries once it failed as often in a row as opens its
        circuit, or answered 410: they would only fail (or be refused) one by one."""
        decision = result.decision
        endpoint_id = result.endpoint_id
        if decision.health == "success":
            self._failing.pop(endpoint_id, None)
            self._holding.discard(endpoint_id)
        elif decision.health == "failure":
            self._failing[endpoint_id] += 1
            if rules.breaker_opens(self._failing[endpoint_id], self._breaker.threshold):
                self._holding.add(endpoint_id)
        if decision.disable_endpoint:
            self._holding.add(endpoint_id)

    # -- the bookkeeping cycle -----------------------------------------------------------------

    async def _cycle_loop(self) -> None:
        idle = self.settings.poll_interval
        started = False
        while True:
            claim_now = self._claim_more and self._claim_due()
            if self._results and not (claim_now or self._give_back or self._stopping):
                await self._linger()
            self._kick.clear()
            claimed = await self._cycle()
            if not started:  # after the first claim: what a process start costs is behind it
                started = True
                log.info("dispatcher started", worker_id=self.worker_id, lanes=len(self._lanes))
            if self._stopping:
                if not (self._results or self._give_back or self._sending_any()):
                    return
                if self._unavailable:  # stopping gives up: the leases expire, nothing is lost
                    log.warning("stopping with results unrecorded", results=len(self._results))
                    return
                await self._kick.wait()
                continue
            if claimed:
                idle = self.settings.poll_interval
            if self._claim_more and self._claim_due():
                await asyncio.sleep(0)  # let this tick's completions join the next cycle
                continue
            if self._results or self._give_back:
                continue
            await _wait_any((self._kick, self._wake), self._pause(idle))
            if self._wake.is_set():
                self._wake.clear()
                self._claim_more = True
            elif not self._kick.is_set():  # the poll: something may have become due
                self._claim_more = True
                idle = min(idle * 2, self.settings.poll_interval * IDLE_BACKOFF)

    def _sending_any(self) -> bool:
        return any(n > 0 for n in self._sending.values())

    def _room(self) -> int:
        return self._lanes_wanted + self._ahead - len(self._held)

    def _claim_due(self) -> bool:
        """Worth a claim now: the queue is running short, or the last claim is a while ago."""
        if self._room() <= 0:
            return False
        queued = len(self._ready) + sum(len(parked) for parked in self._parked.values())
        if queued < self._ahead // 2:
            return True
        return asyncio.get_running_loop().time() - self._last_claim >= CLAIM_INTERVAL

    async def _linger(self) -> None:
        """While sends are under way, give a few results a moment to gather: one cycle (one
        commit) for many of them rather than one each."""
        deadline = asyncio.get_running_loop().time() + RECORD_LINGER
        enough = self._ahead // 2
        while len(self._results) < enough and self._sending_any():
            if asyncio.get_running_loop().time() >= deadline or self._stopping:
                return
            await asyncio.sleep(RECORD_LINGER / 5)

    def _pause(self, idle: float) -> float:
        if self._next_due is None:
            return idle
        until_due = (self._next_due - now()).total_seconds()
        if until_due <= idle:
            self._next_due = None  # it will be claimed by the poll after this wait
        return max(min(idle, until_due), 0.0)

    async def _cycle(self) -> int:
        """Record what finished, give back what was set aside, claim what the lanes need next:
        one writer job, so one transaction, whatever the number of sends it covers."""
        self._unavailable = False
        results, self._results = self._results, []
        self._hold_queued()
        give_back, self._give_back = self._give_back, []
        limit = 0
        if not self._stopping and self._claim_more and self._claim_due():
            limit = min(self._room(), self._ahead)
        if not (results or give_back or limit):
            return 0
        self.stats["cycles"] += 1
        spec = claims.Claim(
            worker_id=self.worker_id,
            limit=limit,
            lease_seconds=self.settings.lease_seconds,
            endpoint_cap=self._send_cap + self._ahead,  # sending, and queued behind them
            probe_wait=self._probe_wait,
        )
        if limit:
            self._last_claim = asyncio.get_running_loop().time()
        done = await self._write_cycle(results, give_back, spec)
        if results:
            await self._recorded(done.recorded, results)
        if give_back:
            self._released(done.released, give_back)
        return self._claimed(done.claimed, limit) if limit else 0

    async def _write_cycle(
        self, results: list[AttemptResult], give_back: list[ClaimedDelivery], spec: claims.Claim
    ) -> _Done:
        """Write the cycle from the loop when every result is a plain one (`loop_cycle`), else,
        or when that fails for another reason than the database being away, on the writer
        thread with each part in its own SAVEPOINT."""
        held = dict(self._per_endpoint)
        if all(loop_cycle.plain(r) for r in results):
            try:
                written = await self.runtime.batches.run(
                    lambda c: loop_cycle.write_cycle(c, results, give_back, spec, held)
                )
            except ServiceUnavailable as exc:  # the database is away: everything waits for it
                return _Done(recorded=exc, released=exc, claimed=exc)
            except Exception:  # rolled back: the writer's cycle isolates the part that fails
                log.exception("loop cycle failed; written by the writer instead")
            else:
                return _Done(claimed=written.claimed)
        job = _cycle_job(results, self._breaker, give_back, spec, held)
        try:
            return await self.runtime.writer.run(job)
        except Exception as exc:  # the whole transaction: every part failed alike
            return _Done(recorded=exc, released=exc, claimed=exc)

    def _hold_queued(self) -> None:
        """Queued deliveries of endpoints being held are set aside."""
        if not self._holding:
            return
        kept = deque(d for d in self._ready if d.endpoint_id not in self._holding)
        self._give_back.extend(d for d in self._ready if d.endpoint_id in self._holding)
        self._ready = kept
        for endpoint_id in self._holding:
            self._give_back.extend(self._parked.pop(endpoint_id, ()))

    async def _recorded(self, error: BaseException | None, results: list[AttemptResult]) -> None:
        if isinstance(error, ServiceUnavailable):
            # The database is away: keep the results, and their leases (the heartbeat renews
            # them once it is back), and record them then instead of sending them all again.
            log.warning("recording results postponed", results=len(results))
            self._results[:0] = results
            self._unavailable = True
            if not self._stopping:
                await get_clock().sleep(self.settings.poll_interval)
            return
        if error is not None:
            log.error("recording results failed", results=len(results), exc_info=error)
        else:
            self.stats["recorded"] += len(results)
            for result in results:
                log_outcome(result)
        for result in results:
            delivery = self._held.get(result.delivery_id)
            if delivery is not None:
                self._forget(delivery)
            if result.decision.state == PENDING and result.decision.delay is not None:
                due = result.finished_at + timedelta(seconds=result.decision.delay)
                self._next_due = due if self._next_due is None else min(self._next_due, due)
        self._claim_more = True  # the next delivery of an ordering key may now be claimable
        _crash_point("after_record", self._crash_at)

    def _released(self, error: BaseException | None, given: list[ClaimedDelivery]) -> None:
        if isinstance(error, ServiceUnavailable):
            log.warning("giving back claims postponed", deliveries=len(given))
            self._give_back[:0] = given
            self._unavailable = True
            return
        if error is not None:  # their leases expire instead
            log.error("giving back claims failed", deliveries=len(given), exc_info=error)
        for delivery in given:
            self._forget(delivery)
        self._claim_more = True

    def _claimed(self, outcome: list[ClaimedDelivery] | BaseException | None, limit: int) -> int:
        if isinstance(outcome, ServiceUnavailable):  # one line per poll, no trace
            log.warning("claim postponed: database unavailable")
            self._claim_more = False
            return 0
        if isinstance(outcome, BaseException) or outcome is None:
            log.error("claim failed", exc_info=outcome)
            self._claim_more = False
            return 0
        claimed = outcome
        self._claim_more = len(claimed) >= limit  # probably more due right now
        self.stats["claims"] += 1
        self.stats["claimed"] += len(claimed)
        if not claimed:
            return 0
        _crash_point("after_claim", self._crash_at)
        if self._stopping:
            self._give_back.extend(claimed)
        for delivery in claimed:
            self._held[delivery.id] = delivery
            self._per_endpoint[delivery.endpoint_id] += 1
            if delivery.lease_until is not None:
                self._leases[delivery.attempt_token] = delivery.lease_until
            # The database gave this endpoint a send (its circuit closed, or this is its probe).
            self._holding.discard(delivery.endpoint_id)
            self._failing.pop(delivery.endpoint_id, None)
        if not self._stopping:
            self._ready.extend(claimed)
            self._offer()
        return len(claimed)

    def _forget(self, delivery: ClaimedDelivery) -> None:
        if self._held.pop(delivery.id, None) is None:
            return
        endpoint_id = delivery.endpoint_id
        self._per_endpoint[endpoint_id] -= 1
        if self._per_endpoint[endpoint_id] <= 0:
            del self._per_endpoint[endpoint_id]

    # -- leases --------------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        lease = self.settings.lease_seconds
        while True:
            await get_clock().sleep(lease / 3)
            self._drop_unused_leases()
            if self._leases:
                await self._extend(lease)

    def _drop_unused_leases(self) -> None:
        """Forget the tokens no held delivery uses, and those already run out: a lease renewed
        after it ran out may be another worker's by then, so it is never renewed."""
        used = {d.attempt_token for d in self._held.values()}
        at = now()
        self._leases = {t: u for t, u in self._leases.items() if t in used and u > at}

    async def _extend(self, lease: float) -> None:
        tokens = list(self._leases)
        at = now()
        try:
            await self.runtime.batches.run(
                lambda c: loop_cycle.extend_leases(c, tokens, lease_seconds=lease)
            )
        except ServiceUnavailable:
            log.warning("lease heartbeat postponed: database unavailable")
            return
        except Exception:
            log.exception("lease heartbeat failed")
            return
        # A lease renewed here is known to be ours only if it had not run out when the update
        # ran (before now): after that, another worker may have reclaimed it, and the update
        # then changed nothing for that delivery.
        until, after = at + timedelta(seconds=lease), now()
        for token in tokens:
            if self._leases.get(token, after) > after:
                self._leases[token] = until


@dataclass(slots=True)
class _Done:
    """What each part of a cycle's job came to: None when it went through, else its error
    (a claim's result is the deliveries it leased)."""

    recorded: BaseException | None = None
    released: BaseException | None = None
    claimed: list[ClaimedDelivery] | BaseException | None = None


def _part(session: Session, fn: Callable[[], T], nested: bool) -> T | BaseException:
    """Run one part of a cycle: inside a SAVEPOINT when it shares the transaction with others,
    so that a failing part (a bug, a hook) does not undo the rest; the database being away
    fails the whole job (the writer answers ServiceUnavailable)."""
    if not nested:
        return fn()
    try:
        with session.begin_nested():
            return fn()
    except Exception as exc:
        if database_unavailable(exc):
            raise
        return exc


def _cycle_job(
    results: list[AttemptResult],
    breaker: Breaker,
    give_back: list[ClaimedDelivery],
    spec: claims.Claim,
    held: dict[int, int],
) -> Callable[[Session], _Done]:
    """One cycle's writes in order: results first (a recorded head lets the next delivery of
    its ordering key be claimed in the same transaction), then what is given back, then the
    claim."""
    parts = bool(results) + bool(give_back) + (spec.limit > 0)
    nested = parts > 1

    def job(session: Session) -> _Done:
        done = _Done()
        if results:
            outcome = _part(session, lambda: record_results(session, results, breaker), nested)
            done.recorded = outcome if isinstance(outcome, BaseException) else None
        if give_back:
            outcome = _part(session, lambda: claims.release(session, give_back), nested)
            done.released = outcome if isinstance(outcome, BaseException) else None
        if spec.limit > 0:
            done.claimed = _part(session, lambda: claims.claim(session, spec, held), nested)
        return done

    return job


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


async def _wait_any(events: tuple[asyncio.Event, ...], seconds: float) -> None:
    """Until one of `events` is set or `seconds` of the process clock have passed."""
    if seconds <= 0 or any(e.is_set() for e in events):
        return
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(e.wait()) for e in events]
    waiters.append(asyncio.ensure_future(get_clock().sleep(seconds)))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _ended(task: asyncio.Task[None]) -> None:
    """Wait for a background loop that is ending; what it failed with is logged, not raised:
    stopping goes on, so the sends in flight are still recorded."""
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    except Exception:
        log.exception("dispatcher loop failed while stopping", loop=task.get_name())
