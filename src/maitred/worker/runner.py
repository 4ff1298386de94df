"""Worker boot: the delivery dispatcher, the booking follow-ups, the POS reconcile sweep and the
table fetches, in their own process or inside `maitred serve`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Protocol

import structlog
from sqlalchemy.exc import OperationalError

from maitred import boot
from maitred.checkout.stores import StoreHeartbeats
from maitred.checkout.timers import ChannelTimers
from maitred.clock import get_clock
from maitred.config import Settings
from maitred.deliveries.dispatcher import Dispatcher
from maitred.errors import ServiceUnavailable
from maitred.flows import reconcile, retention
from maitred.monitoring.service import TraceRecorder
from maitred.runtime import Runtime
from maitred.worker.followups import FollowUpLoop
from maitred.worker.tables import TablesSweeper

log = structlog.get_logger(__name__)

FIRST_SWEEP_DELAY = 5.0  # seconds after start before the first sweep (capped by the interval)


class Stoppable(Protocol):
    """Something started that must be stopped."""

    async def stop(self) -> None:
        """Stop it."""
        ...


async def sweep(runtime: Runtime) -> tuple[list[reconcile.ReconcileReport], int]:
    """One periodic pass: reconcile every POS-linked venue, then purge expired orders."""
    reports = await reconcile.reconcile_all(runtime)
    purged = await retention.purge_expired(runtime)
    log.info(
        "reconcile sweep done",
        venues=len(reports),
        created=sum(r.created for r in reports),
        updated=sum(r.updated for r in reports),
        errors=sum(len(r.errors) for r in reports),
        purged=purged,
    )
    return reports, purged


class ReconcileSweeper:
    """Runs `sweep` every `reconcile_interval` seconds until stopped; a failed sweep is logged."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sweeps = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop."""
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._loop(), name="orders-reconcile")

    async def stop(self) -> None:
        """Stop the loop (a sweep in progress is abandoned; its committed jobs stay)."""
        if self._task is None:
            return
        self._stopping.set()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _loop(self) -> None:
        interval = self.runtime.settings.reconcile_interval
        delay = min(FIRST_SWEEP_DELAY, interval)
        while not await self._stopped_within(delay):
            try:
                await sweep(self.runtime)
            except (ServiceUnavailable, OperationalError):  # the database is away: no trace
                log.warning("reconcile sweep postponed: database unavailable")
            except Exception:
                log.exception("reconcile sweep failed")
            self.sweeps += 1
            delay = interval

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait `seconds` of the process clock; True when asked to stop meanwhile."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        sleeping = asyncio.ensure_future(get_clock().sleep(seconds))
        try:
            await asyncio.wait((stopping, sleeping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (stopping, sleeping):
                task.cancel()
        return self._stopping.is_set()


class Together:
    """Several started things stopped as one, last started first."""

    def __init__(self, *parts: Stoppable) -> None:
        self.parts = parts

    async def stop(self) -> None:
        """Stop every part."""
        for part in reversed(self.parts):
            await part.stop()


async def start_in_process(runtime: Runtime, recorder: TraceRecorder) -> Stoppable:
    """Start a dispatcher and the reconcile sweep inside the serving process."""
    # Outbound traces are written with each batch of results, in the same transaction as the
    # attempts, so the serving process's recorder (inbound traces) is not needed here.
    del recorder
    dispatcher = Dispatcher(runtime)
    await dispatcher.start()
    following = FollowUpLoop(runtime)
    await following.start()
    sweeper = ReconcileSweeper(runtime)
    await sweeper.start()
    tables = TablesSweeper(runtime)
    await tables.start()
    timers = ChannelTimers(runtime)
    await timers.start()
    heartbeats = StoreHeartbeats(runtime)
    await heartbeats.start()
    return Together(dispatcher, following, sweeper, tables, timers, heartbeats)


async def run_worker(settings: Settings) -> None:
    """Run a dispatcher and the reconcile sweep until SIGTERM/SIGINT, then finish the sends in
    flight and exit."""
    boot.install()
    runtime = Runtime.build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    dispatcher = Dispatcher(runtime)
    following = FollowUpLoop(runtime)
    sweeper = ReconcileSweeper(runtime)
    tables = TablesSweeper(runtime)
    timers = ChannelTimers(runtime)
    heartbeats = StoreHeartbeats(runtime)
    try:
        await dispatcher.start()
        await following.start()
        await sweeper.start()
        await tables.start()
        await timers.start()
        await heartbeats.start()
        await stop.wait()
        log.info("stopping worker", worker_id=dispatcher.worker_id)
        await heartbeats.stop()
        await timers.stop()
        await tables.stop()
        await sweeper.stop()
        await following.stop()
        await dispatcher.stop()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await runtime.close()
