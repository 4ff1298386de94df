"""Fetching venues' tables without an operator: every due venue (the worker's sweep), and a
read-through for a venue never fetched (ARCHITECTURE §5: a short timeout, and the stored
tables as the fallback). Unambiguous matches apply by themselves, as in any refresh.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.db.errors import database_unavailable
from maitred.errors import MaitredError
from maitred.tables import schedule, service

if TYPE_CHECKING:
    from maitred.runtime import Runtime

log = structlog.get_logger(__name__)

READ_THROUGH_TIMEOUT = 3.0  # seconds a partner's request may wait for a first fetch
READ_THROUGH_QUIET = 30.0  # no read-through for a venue whose fetch started this recently
VENUE_CONCURRENCY = 4  # venues fetched at once by a sweep
FETCHING = "tables.fetching"  # runtime.extras: venue id -> the fetch in progress


@dataclass(frozen=True)
class Fetched:
    """One venue's fetch: None, or why it failed (recorded, and retried after a back-off)."""

    venue_id: str
    error: str | None = None


async def refresh_due(runtime: Runtime) -> list[Fetched]:
    """Fetch every venue whose tables are due (claimed first, so workers share the work)."""
    at = now()

    def take(session: Session) -> list[str]:
        return schedule.claim(session, schedule.due(session, at), at)

    venue_ids = await runtime.writer.run(take)
    gate = asyncio.Semaphore(VENUE_CONCURRENCY)

    async def one(venue_id: str) -> Fetched:
        async with gate:
            return await fetch(runtime, venue_id)

    return list(await asyncio.gather(*(one(venue_id) for venue_id in venue_ids)))


async def fetch(runtime: Runtime, venue_id: str) -> Fetched:
    """Refresh one venue's tables, sharing a fetch already running in this process."""
    return await asyncio.shield(_task(runtime, venue_id))


async def read_through(runtime: Runtime, venue_id: str) -> None:
    """Fetch the tables of a venue never fetched, waiting at most `READ_THROUGH_TIMEOUT`; a
    slower fetch goes on by itself and the caller answers with what is stored."""

    def pending() -> bool:
        with runtime.db.read_sessions() as session:
            return schedule.never_fetched(session, venue_id, at=now(), quiet=READ_THROUGH_QUIET)

    if not await asyncio.to_thread(pending):
        return
    try:
        await asyncio.wait_for(asyncio.shield(_task(runtime, venue_id)), READ_THROUGH_TIMEOUT)
    except TimeoutError:
        log.info("table read-through still running; answered from storage", venue_id=venue_id)


def _task(runtime: Runtime, venue_id: str) -> asyncio.Task[Fetched]:
    running = runtime.extras.setdefault(FETCHING, {})
    assert isinstance(running, dict)
    task: asyncio.Task[Fetched] | None = running.get(venue_id)
    if task is None:
        task = runtime.spawn(_fetch(runtime, venue_id), name=f"tables-{venue_id}")
        running[venue_id] = task

        def done(finished: asyncio.Task[Fetched]) -> None:
            running.pop(venue_id, None)
            if not finished.cancelled() and finished.exception() is not None:
                # Seen here when nobody waits any more (a read-through that timed out).
                log.warning("table fetch stopped", venue_id=venue_id, error=finished.exception())

        task.add_done_callback(done)
    return task


async def _fetch(runtime: Runtime, venue_id: str) -> Fetched:
    try:
        await service.refresh(runtime, venue_id)  # records the success in its own job
    except MaitredError as exc:
        error = exc.message
    except Exception as exc:  # one venue's odd partner must not stop the others
        if database_unavailable(exc):
            raise
        log.exception("table fetch failed", venue_id=venue_id)
        error = f"{type(exc).__name__}: {exc}"
    else:
        return Fetched(venue_id)
    interval = runtime.settings.tables_refresh_interval

    def failed(session: Session) -> None:
        schedule.record_failure(session, venue_id, at=now(), error=error, interval=interval)

    await runtime.writer.run(failed)
    log.warning("table fetch failed", venue_id=venue_id, error=error)
    return Fetched(venue_id, error)
