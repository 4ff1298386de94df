"""Reconciling maitred's orders with the POS: pull what the POS holds, apply what we missed.

spec: contracts §1.6.4 (`GET /venue/{venueId}/orders?status=open|closed&from=&until=`, Bearer
token) and §1.2 (closed orders stay retrievable for 45 days, "for reconciliation"). Each pulled
order goes through `orders.service.apply_pos_order` exactly like a POS call would, so a missed
call becomes exactly the pos_order events it would have produced, and a second run changes
nothing (decision 10: content dedupe, an older state never overwrites a newer one).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated, Any

import aiohttp
import structlog
import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from yarl import URL

from maitred.clock import now
from maitred.connectors.mozrest.pos_wire import PosOrder
from maitred.errors import (
    Conflict,
    MaitredError,
    NotFound,
    PartnerError,
    PartnerRejected,
    PartnerUnavailable,
)
from maitred.monitoring.service import TraceRecord, insert_traces
from maitred.orders import repository as repo
from maitred.orders.models import PosOrder as PosOrderRow
from maitred.orders.rules import CLOSED, VOID
from maitred.orders.service import PosChange, apply_pos_order
from maitred.partners.models import Partner
from maitred.security import redact_body, redact_headers
from maitred.venues.models import VenueLink

if TYPE_CHECKING:
    from maitred.runtime import Runtime

log = structlog.get_logger(__name__)

TIMEOUT_SECONDS = 10.0
MAX_BODY_BYTES = 20_000_000  # a day of closed orders of a busy venue, with room to spare
VENUE_CONCURRENCY = 4  # venues reconciled at once by `reconcile_all`


class ListedOrder(PosOrder):
    """One entry of the POS's order listing: the order payload plus `hubId` (maitred's id)."""

    hubId: str | None = None


CENT = Decimal("0.01")
AMOUNTS = ("totalAmount", "tax", "tip", "discount")
_ENTRIES = TypeAdapter(list[dict[str, Any]])


@dataclass
class ReconcileReport:
    """What one reconcile of one venue found and did."""

    venue_id: str
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    correlation_id: str | None = None


@dataclass(frozen=True)
class PosTarget:
    """Where and how to ask a venue's POS for its orders."""

    venue_id: str  # ours
    partner_id: str
    base_url: str
    external_venue_id: str
    token: str | None
    correlation_id: str  # of this run, on every trace and event
    trace_limit: int


@dataclass(frozen=True)
class Pull:
    """One listing call's outcome: the orders it returned, entries it could not read, trace."""

    orders: list[ListedOrder]
    problems: list[str]
    trace: TraceRecord
    error: PartnerError | None = None


def new_correlation_id() -> str:
    """A fresh correlation id for one reconcile run."""
    return f"reconcile-{secrets.token_hex(8)}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def reconcile_venue(runtime: Runtime, venue_id: str) -> ReconcileReport:
    """Pull the venue's open and recently closed POS orders and apply them in one writer job."""
    correlation_id = new_correlation_id()
    target = await asyncio.to_thread(_target, runtime, venue_id, correlation_id)
    until = now()
    since = until - timedelta(hours=runtime.settings.reconcile_window_hours)
    queries = ({"status": "open"}, {"status": "closed", "from": _iso(since), "until": _iso(until)})
    http = await runtime.open_http()
    pulls = await asyncio.gather(*(_pull(http, target, query) for query in queries))
    traces = [pull.trace for pull in pulls]
    failures = [pull.error.message for pull in pulls if pull.error is not None]
    if failures:
        # Nothing is applied from half a picture; the calls are still on record.
        await runtime.writer.run(lambda session: insert_traces(session, traces))
        return ReconcileReport(venue_id, errors=failures, correlation_id=correlation_id)
    # One entry per POS order; the closed listing, pulled second, is the newer state.
    orders = list({listed.id: listed for pull in pulls for listed in pull.orders}.values())
    problems = [problem for pull in pulls for problem in pull.problems]

    def job(session: Session) -> ReconcileReport:
        insert_traces(session, traces)
        report = ReconcileReport(venue_id, errors=list(problems), correlation_id=correlation_id)
        for listed in orders:
            _reconcile_order(session, report, listed)
        return report

    report = await runtime.writer.run(job)
    log.info("venue reconciled", **asdict(report))
    return report


def _target(runtime: Runtime, venue_id: str, correlation_id: str) -> PosTarget:
    with runtime.db.read_sessions() as session:
        row = session.execute(
            select(
                VenueLink.partner_id,
                VenueLink.external_id,
                Partner.base_url,
                Partner.token_encrypted,
            )
            .join(Partner, Partner.id == VenueLink.partner_id)
            .where(VenueLink.venue_id == venue_id, VenueLink.role == "pos")
        ).first()
    if row is None:
        raise NotFound(f"Venue {venue_id} has no POS partner linked")
    if not row.base_url:
        raise Conflict(f"Partner {row.partner_id} has no base URL to list orders from")
    return PosTarget(
        venue_id=venue_id,
        partner_id=row.partner_id,
        base_url=row.base_url,
        external_venue_id=row.external_id,
        token=runtime.secrets.decrypt(row.token_encrypted),
        correlation_id=correlation_id,
        trace_limit=runtime.settings.trace_body_limit,
    )


async def _pull(http: aiohttp.ClientSession, target: PosTarget, query: dict[str, str]) -> Pull:
    """One listing call (no redirects, bounded); never raises."""
    path = f"/venue/{target.external_venue_id}/orders"
    url = URL(target.base_url.rstrip("/") + path).with_query(query)
    headers = {"Accept": "application/json"}
    if target.token:
        headers["Authorization"] = f"Bearer {target.token}"
    started, at = time.monotonic(), now()
    status: int | None = None
    body: bytes | None = None
    orders: list[ListedOrder] = []
    problems: list[str] = []
    try:
        async with http.get(
            url,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
        ) as response:
            status = response.status
            body = await _read_capped(response)
        error = _check(status, body, orders, problems)
    except (TimeoutError, aiohttp.ClientError) as exc:
        error = PartnerUnavailable(f"POS orders: {type(exc).__name__}")
    trace = TraceRecord(
        at=at,
        direction="outbound",
        method="GET",
        url=str(url),
        status_code=status,
        duration_ms=(time.monotonic() - started) * 1000,
        partner_id=target.partner_id,
        venue_id=target.venue_id,
        request_headers=redact_headers(headers),
        response_body=redact_body(body, target.trace_limit),
        error=error.message if error is not None else None,
        correlation_id=target.correlation_id,
        outcome="" if error is None else "failed",
    )
    return Pull(orders, problems, trace, error)


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise aiohttp.ClientPayloadError("order listing too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _check(
    status: int, body: bytes, orders: list[ListedOrder], problems: list[str]
) -> PartnerError | None:
    """Read a listing into `orders`; an entry that is not an order is noted, not fatal."""
    if status == 429 or status >= 500:
        return PartnerUnavailable(f"POS orders: HTTP {status}")
    if not 200 <= status < 300:
        return PartnerRejected(f"POS orders: HTTP {status}")
    try:
        entries = _ENTRIES.validate_json(body)
    except ValidationError:
        return PartnerRejected("POS orders: not a list of orders")
    for index, entry in enumerate(entries):
        try:
            orders.append(ListedOrder.model_validate(entry))
        except ValidationError as exc:
            label = entry.get("id", f"#{index}")
            problems.append(f"order {label!s:.64}: {exc.error_count()} invalid field(s)")
    return None


def actions_for(listed: ListedOrder, *, known: bool) -> list[str]:
    """The POS calls a pulled state stands for: what a webhook would have said."""
    all_void = bool(listed.checks) and all(check.status == VOID for check in listed.checks)
    if not known:
        # A missed walk-in: create it; voided before we heard of it, it is stored as void.
        return ["create", "void"] if all_void else ["create"]
    if all_void:
        return ["void"]
    return ["close"] if listed.status == CLOSED else ["update"]


def as_stored(listed: ListedOrder) -> PosOrder:
    """The order payload with amounts at the precision maitred stores them (Numeric(12, 2))."""
    # Unchanged content must compare equal to the stored check: 12.5 on the wire is 12.50 read
    # back from the database, and the content hash is taken of the amounts' text.
    checks = [
        check.model_copy(
            update={name: getattr(check, name).quantize(CENT, ROUND_HALF_UP) for name in AMOUNTS}
        )
        for check in listed.checks
    ]
    return PosOrder.model_validate(
        {**listed.model_dump(exclude={"hubId", "checks"}), "checks": checks}
    )


def _snapshot(session: Session, order_id: str) -> tuple[Any, ...]:
    """What a reconcile may change of an order, as plain values."""
    order = session.get(PosOrderRow, order_id)
    if order is None:
        return ()
    checks = tuple(
        (c.check_number, c.status, c.content_hash) for c in repo.checks_of(session, order_id)
    )
    return (order.status, order.party_size, tuple(order.pos_tables), checks)


def _known(session: Session, venue_id: str, listed: ListedOrder) -> PosOrderRow | None:
    for ref in (listed.hubId, listed.id):
        if ref:
            found = repo.find_order(session, venue_id=venue_id, ref=ref)
            if found is not None:
                return found
    return None


def _reconcile_order(session: Session, report: ReconcileReport, listed: ListedOrder) -> None:
    """Apply one pulled order in a savepoint; count what it did."""
    report.seen += 1
    payload = as_stored(listed)
    try:
        with session.begin_nested():
            known = _known(session, report.venue_id, listed)
            before = _snapshot(session, known.id) if known is not None else None
            order_id = known.id if known is not None else None
            for action in actions_for(listed, known=known is not None):
                change = PosChange(
                    venue_id=report.venue_id,
                    action=action,
                    payload=payload,
                    order_ref=order_id or listed.hubId or listed.id,
                    correlation_id=report.correlation_id,
                )
                order_id = apply_pos_order(session, change).id
            after = _snapshot(session, order_id) if order_id is not None else None
    except OperationalError:
        raise  # the database is unavailable: the writer answers for the whole job
    except Exception as exc:  # one bad order must not hide the others
        log.warning("order not reconciled", order=listed.id, error=repr(exc))
        report.errors.append(f"order {listed.id}: {type(exc).__name__}: {exc}"[:300])
        return
    if before is None:
        report.created += 1
    elif before != after:
        report.updated += 1
    else:
        report.unchanged += 1


def pos_linked_venues(session: Session) -> list[str]:
    """Every venue that has a POS partner with a base URL to call."""
    return list(
        session.scalars(
            select(VenueLink.venue_id)
            .join(Partner, Partner.id == VenueLink.partner_id)
            .where(VenueLink.role == "pos", Partner.base_url.is_not(None))
            .distinct()
            .order_by(VenueLink.venue_id)
        )
    )


async def reconcile_all(runtime: Runtime) -> list[ReconcileReport]:
    """Reconcile every POS-linked venue (a few at a time); one venue's failure is its report."""
    with runtime.db.read_sessions() as session:
        venue_ids = pos_linked_venues(session)
    gate = asyncio.Semaphore(VENUE_CONCURRENCY)

    async def one(venue_id: str) -> ReconcileReport:
        async with gate:
            try:
                return await reconcile_venue(runtime, venue_id)
            except MaitredError as exc:
                return ReconcileReport(venue_id, errors=[exc.message])
            except Exception as exc:
                log.exception("venue reconcile failed", venue_id=venue_id)
                return ReconcileReport(venue_id, errors=[f"{type(exc).__name__}: {exc}"[:300]])

    return list(await asyncio.gather(*(one(venue_id) for venue_id in venue_ids)))


def reconcile_command(
    venue: Annotated[
        str | None,
        typer.Argument(help="maitred's venue id; every POS-linked venue when omitted."),
    ] = None,
) -> None:
    """Pull the POS's open and recently closed orders and apply what maitred missed."""
    from maitred.config import get_settings
    from maitred.runtime import Runtime

    console = Console()

    async def main() -> list[ReconcileReport]:
        runtime = Runtime.build(get_settings())
        try:
            if venue is not None:
                return [await reconcile_venue(runtime, venue)]
            return await reconcile_all(runtime)
        finally:
            await runtime.close()

    try:
        reports = asyncio.run(main())
    except MaitredError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    console.print(_report_table(reports))
    for report in reports:
        for error in report.errors:
            console.print(f"[red]{report.venue_id}: {error}[/red]")
    if any(report.errors for report in reports):
        raise typer.Exit(1)


def _report_table(reports: list[ReconcileReport]) -> Table:
    table = Table("venue", "seen", "created", "updated", "unchanged", "errors", "correlation id")
    for r in reports:
        counts = (r.seen, r.created, r.updated, r.unchanged, len(r.errors))
        table.add_row(r.venue_id, *(str(n) for n in counts), r.correlation_id or "")
    return table
