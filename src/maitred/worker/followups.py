"""The booking follow-up loop: applies `orders.followups` whenever a booking change commits
(woken in-process) or every poll interval (changes stored by other processes)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from maitred import signals
from maitred.errors import ServiceUnavailable
from maitred.orders import followups
from maitred.runtime import Runtime

log = structlog.get_logger(__name__)


class FollowUpLoop:
    """Runs until stopped; a failed round is logged and retried after a poll interval."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.followed = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop (picks up whatever is already pending)."""
        signals.followups.subscribe(self._wake)
        self._wake.set()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="followups")

    async def stop(self) -> None:
        """Stop after the round in progress (its transaction commits or rolls back whole)."""
        signals.followups.unsubscribe(self._wake)
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _loop(self) -> None:
        poll = self.runtime.settings.poll_interval
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll)
            self._wake.clear()
            while not self._stopping and await self._round() > 0:
                pass  # a round ends on its time budget: more may be waiting

    async def _round(self) -> int:
        try:
            taken = await self.runtime.writer.run(followups.apply_pending)
        except ServiceUnavailable:  # the database is away: one line per poll, no trace
            log.warning("booking follow-ups postponed: database unavailable")
            return 0
        except Exception:
            log.exception("booking follow-ups failed; retrying")
            return 0
        self.followed += taken
        return taken
