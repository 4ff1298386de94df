"""The table-fetch loop: fetches the tables of every venue that is due (`tables.schedule`),
woken in-process when a venue's links change, else every few seconds."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from maitred import signals
from maitred.db.errors import database_unavailable
from maitred.errors import ServiceUnavailable
from maitred.flows import tables as auto
from maitred.runtime import Runtime

log = structlog.get_logger(__name__)

TICK_SECONDS = 10.0  # how often the due venues are looked for (a cheap query)


class TablesSweeper:
    """Runs until stopped; a failed round is logged and retried on the next tick."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.rounds = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop (the first round at once: a fresh `serve --config` has venues due)."""
        signals.tables.subscribe(self._wake)
        self._wake.set()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="tables-fetch")

    async def stop(self) -> None:
        """Stop the loop (a fetch in progress is abandoned; it is due again after its lease)."""
        signals.tables.unsubscribe(self._wake)
        if self._task is None:
            return
        self._stopping = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _loop(self) -> None:
        interval = self.runtime.settings.tables_refresh_interval
        tick = min(TICK_SECONDS, interval) if interval > 0 else TICK_SECONDS
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=tick)
            self._wake.clear()
            await self._round()

    async def _round(self) -> None:
        try:
            fetched = await auto.refresh_due(self.runtime)
        except ServiceUnavailable:  # the database is away: one line per tick, no trace
            log.warning("table fetches postponed: database unavailable")
            return
        except Exception as exc:
            if database_unavailable(exc):
                log.warning("table fetches postponed: database unavailable")
                return
            log.exception("table fetches failed; retrying")
            return
        self.rounds += 1
        if fetched:
            failed = [f.venue_id for f in fetched if f.error is not None]
            log.info("venue tables fetched", venues=len(fetched), failed=failed)
