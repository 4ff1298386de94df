"""Fetching venues' tables from their partners: a refresh (asked by an operator, or run for
every due venue by the worker's sweep), and a read-through for a venue never fetched
(ARCHITECTURE §5: a short timeout, and the stored tables as the fallback). Unambiguous matches
apply by themselves, as in any refresh.

Each side is listed by the adapter of its partner's contract; a side whose contract has no
table listing is not asked, and the refresh works with the tables stored for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from sqlalchemy.orm import Session

from maitred.capabilities import features
from maitred.capabilities import service as capabilities
from maitred.clock import now
from maitred.db.errors import database_unavailable
from maitred.errors import Conflict, MaitredError
from maitred.monitoring.service import insert_traces
from maitred.partners import contracts
from maitred.partners.reach import Http, Reach
from maitred.reservations import again as reservations_again
from maitred.runtime import Runtime
from maitred.tables import repository as repo
from maitred.tables import schedule, service, sync
from maitred.tables.ports import TableListing, TableSource
from maitred.tables.schemas import RefreshReport

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
        await refresh(runtime, venue_id)  # records the success in its own job
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


@dataclass(frozen=True)
class _Side:
    """One side of a venue to list: its role, who, how, through which adapter."""

    role: str
    reach: Reach
    source: TableSource | None  # None: its contract has no table listing


async def refresh(runtime: Runtime, venue_id: str) -> RefreshReport:
    """Fetch both partners' table listings, then store them, flag drift and match in one job."""
    sides = await asyncio.to_thread(_sides, runtime, venue_id)
    http = await runtime.open_http()
    listings = await asyncio.gather(*(_list(http, side) for side in sides))
    traces = [listing.trace for listing in listings if listing is not None]

    def record(session: Session) -> None:
        insert_traces(session, traces)
        for side, listing in zip(sides, listings, strict=True):
            if listing is not None and (listing.error is None or listing.unsupported):
                capabilities.record(
                    session,
                    venue_id=venue_id,
                    partner_id=side.reach.partner_id,
                    feature=features.TABLES_LIST,
                    supported=listing.error is None,
                    reason=f"HTTP {listing.trace.status_code} to GET {listing.trace.url}",
                )

    for listing in listings:
        if listing is not None and listing.error is not None:
            # Never mark tables gone on a failed fetch: keep what we had, record the calls.
            await runtime.writer.run(record)
            raise listing.error
    rms, pos = (None if listing is None else listing.tables or [] for listing in listings)
    interval = runtime.settings.tables_refresh_interval

    def job(session: Session) -> RefreshReport:
        record(session)
        at = now()
        report = sync.apply_refresh(session, venue_id=venue_id, rms=rms, pos=pos, at=at)
        schedule.record_success(session, venue_id, at=at, interval=interval)
        if report.auto_applied or report.recovered:  # a held booking may go through now
            reservations_again.release_held(session, venue_id=venue_id)
        return report

    return await runtime.writer.run(job)


async def _list(http: Http, side: _Side) -> TableListing | None:
    if side.source is None:
        return None
    return await side.source.list_tables(http, side.reach)


def _sides(runtime: Runtime, venue_id: str) -> list[_Side]:
    """The venue's RMS and POS as the refresh lists them; Conflict when one is missing."""
    with runtime.db.read_sessions() as session:
        service.require_venue(session, venue_id)
        links = repo.partner_links(session, venue_id)
    sides = []
    for role in ("rms", "pos"):
        link = links.get(role)
        if link is None:
            raise Conflict(f"Venue {venue_id} has no {role.upper()} partner linked")
        contract = contracts.find(link.contract)
        adapter = contract.adapter(role) if contract is not None else None
        lists = adapter is not None and features.TABLES_LIST in adapter.features
        if lists and not link.base_url:
            raise Conflict(f"Partner {link.partner_id} has no base URL to list tables from")
        reach = Reach(
            partner_id=link.partner_id,
            venue_id=venue_id,
            base_url=link.base_url or "",
            external_venue_id=link.external_venue_id,
            token=runtime.secrets.decrypt(link.token_encrypted),
            trace_limit=runtime.settings.trace_body_limit,
        )
        sides.append(_Side(role, reach, adapter if lists else None))
    return sides
