"""Reconciling maitred's orders with the POS: pull what the POS holds, apply what we missed.

The POS's contract lists its open orders and those closed in a window (`orders.list`), and
gets one order (`orders.get`); a POS whose contract has no order listing is not reconciled
(contracts §1.2 keeps closed orders retrievable 45 days "for reconciliation"). Each pulled
order goes through `orders.service.apply_pos_order` exactly like a POS call would, so a missed
call becomes exactly the events it would have produced, and a second run changes nothing
(decision 10: content dedupe, an older state never overwrites a newer one).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.capabilities import features
from maitred.capabilities import service as capabilities
from maitred.clock import now
from maitred.db.errors import database_unavailable
from maitred.errors import Conflict, MaitredError, NotFound
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.monitoring.service import TraceRecord, insert_traces
from maitred.orders import repository as repo
from maitred.orders.handlers import UNSUPPORTED
from maitred.orders.models import PosOrder as PosOrderRow
from maitred.orders.ports import OrderListing, OrderLookup, OrderReport, PosAdapter
from maitred.orders.rules import CLOSED, VOID
from maitred.orders.service import PosChange, apply_pos_order
from maitred.partners import contracts
from maitred.partners.models import Partner
from maitred.partners.reach import Http, Reach
from maitred.runtime import Runtime
from maitred.venues.models import VenueLink

log = structlog.get_logger(__name__)

VENUE_CONCURRENCY = 4  # venues reconciled at once by `reconcile_all`
MAX_LOOKUPS = 50  # open orders looked up one by one in a run (the rest wait for the next)


@dataclass
class ReconcileReport:
    """What one reconcile of one venue found and did."""

    venue_id: str
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    looked_up: int = 0  # open orders absent from both listings, fetched one by one
    errors: list[str] = field(default_factory=list)
    correlation_id: str | None = None


def new_correlation_id() -> str:
    """A fresh correlation id for one reconcile run."""
    return f"reconcile-{secrets.token_hex(8)}"


@dataclass(frozen=True)
class PosTarget:
    """The venue's POS as a reconcile calls it: how to reach it, through which adapter."""

    reach: Reach
    adapter: PosAdapter

    @property
    def venue_id(self) -> str:
        """Ours."""
        return self.reach.venue_id

    @property
    def partner_id(self) -> str:
        """The POS partner's id."""
        return self.reach.partner_id


async def reconcile_venue(runtime: Runtime, venue_id: str) -> ReconcileReport:
    """Pull the venue's open and recently closed POS orders, look up the open orders maitred
    holds that neither listing shows, and apply it all in one writer job."""
    correlation_id = new_correlation_id()
    pos = await asyncio.to_thread(pos_target, runtime, venue_id, correlation_id)
    until = now()
    since = until - timedelta(hours=runtime.settings.reconcile_window_hours)
    http = await runtime.open_http()
    pulls = await asyncio.gather(
        pos.adapter.list_orders(http, pos.reach, closed_between=None),
        pos.adapter.list_orders(http, pos.reach, closed_between=(since, until)),
    )
    traces = [pull.trace for pull in pulls]
    failures = [pull.error.message for pull in pulls if pull.error is not None]
    if failures:
        # Nothing is applied from half a picture; the calls are still on record.
        def record_failure(session: Session) -> None:
            insert_traces(session, traces)
            _note_listing(session, pos, pulls)

        await runtime.writer.run(record_failure)
        return ReconcileReport(venue_id, errors=failures, correlation_id=correlation_id)
    # One entry per POS order; the closed listing, pulled second, is the newer state.
    orders = {listed.pos_order_id: listed for pull in pulls for listed in pull.orders}
    problems = [problem for pull in pulls for problem in pull.problems]
    lookups = await _look_up_unlisted(runtime, http, pos, orders)
    traces += [found.trace for found in lookups]
    problems += [found.error.message for found in lookups if found.error is not None]
    orders |= {
        found.order.pos_order_id: found.order for found in lookups if found.order is not None
    }

    def job(session: Session) -> ReconcileReport:
        insert_traces(session, traces)
        _note_listing(session, pos, pulls)
        _note_lookups(session, pos, lookups)
        report = ReconcileReport(
            venue_id,
            looked_up=len(lookups),
            errors=list(problems),
            correlation_id=correlation_id,
        )
        reported = [_reconcile_order(session, report, listed) for listed in orders.values()]
        flags.settle(
            session,
            venue_id=venue_id,
            kinds=[kinds.ORDER_MISSING_IN_POS],
            subjects=[f"order:{order_id}" for order_id in reported if order_id is not None],
            by="the POS listed or returned the order again",
        )
        return report

    report = await runtime.writer.run(job)
    log.info("venue reconciled", **asdict(report))
    return report


def pos_target(runtime: Runtime, venue_id: str, correlation_id: str) -> PosTarget:
    """The venue's POS, or NotFound / Conflict when there is none to call."""
    with runtime.db.read_sessions() as session:
        pos = repo.side(session, venue_id=venue_id, role="pos")
    if pos is None:
        raise NotFound(f"Venue {venue_id} has no POS partner linked")
    adapter = contracts.pos_of(pos.contract)
    if adapter is None or features.ORDERS_LIST not in adapter.features:
        raise Conflict(f"Partner {pos.partner_id}'s contract ({pos.contract}) lists no orders")
    if not pos.base_url:
        raise Conflict(f"Partner {pos.partner_id} has no base URL to list orders from")
    reach = Reach(
        partner_id=pos.partner_id,
        venue_id=venue_id,
        base_url=pos.base_url,
        external_venue_id=pos.external_venue_id,
        token=runtime.secrets.decrypt(pos.token_encrypted),
        trace_limit=runtime.settings.trace_body_limit,
        correlation_id=correlation_id,
    )
    return PosTarget(reach, adapter)


async def _look_up_unlisted(
    runtime: Runtime, http: Http, pos: PosTarget, listed: dict[str, OrderReport]
) -> list[OrderLookup]:
    """Fetch, one by one, the orders maitred holds open that neither listing showed (closed
    before the window, or gone); stops at the first answer that says the POS has no such call."""
    seen = set(listed) | {order.hub_id for order in listed.values() if order.hub_id}
    if features.ORDERS_GET not in pos.adapter.features:
        return []

    def unlisted() -> list[str]:
        with runtime.db.read_sessions() as session:
            if capabilities.is_missing(
                session,
                venue_id=pos.venue_id,
                partner_id=pos.partner_id,
                feature=features.ORDERS_GET,
            ):
                return []
            return [
                ref
                for order_id, ref in repo.open_pos_orders(session, pos.venue_id)
                if ref not in seen and order_id not in seen
            ][:MAX_LOOKUPS]

    found: list[OrderLookup] = []
    for ref in await asyncio.to_thread(unlisted):
        lookup = await pos.adapter.get_order(http, pos.reach, ref)
        found.append(lookup)
        if lookup.status in UNSUPPORTED - {404}:
            break
    return found


def _note_listing(session: Session, pos: PosTarget, pulls: Sequence[OrderListing]) -> None:
    """What the listing calls showed of the POS's API (capability report)."""
    for pull in pulls:
        if pull.error is None or pull.unsupported:
            _note(session, pos, features.ORDERS_LIST, pull.error is None, pull.trace)


def _note_lookups(session: Session, pos: PosTarget, lookups: Sequence[OrderLookup]) -> None:
    """What the lookups showed: a missing call, or orders the POS no longer knows."""
    for found in lookups:
        if found.order is not None:
            _note(session, pos, features.ORDERS_GET, True, found.trace)
        elif found.status in (405, 501):
            _note(session, pos, features.ORDERS_GET, False, found.trace)
        elif found.status == 404:
            order = repo.find_order(session, venue_id=pos.venue_id, ref=found.ref)
            flags.raise_flag(
                session,
                venue_id=pos.venue_id,
                kind=kinds.ORDER_MISSING_IN_POS,
                subject=f"order:{order.id if order else found.ref}",
                message=f"POS order {found.ref} is open in maitred but the POS does not know "
                "it (404 to a lookup); it was left as it is.",
            )


def _note(
    session: Session,
    pos: PosTarget,
    feature: str,
    supported: bool,
    trace: TraceRecord,
) -> None:
    capabilities.record(
        session,
        venue_id=pos.venue_id,
        partner_id=pos.partner_id,
        feature=feature,
        supported=supported,
        reason=f"HTTP {trace.status_code} to GET {trace.url}",
    )


def actions_for(listed: OrderReport, *, known: bool) -> list[str]:
    """The POS calls a pulled state stands for: what a webhook would have said."""
    all_void = bool(listed.checks) and all(check.status == VOID for check in listed.checks)
    if not known:
        # A missed walk-in: create it; voided before we heard of it, it is stored as void.
        return ["create", "void"] if all_void else ["create"]
    if all_void:
        return ["void"]
    return ["close"] if listed.status == CLOSED else ["update"]


def _snapshot(session: Session, order_id: str) -> tuple[Any, ...]:
    """What a reconcile may change of an order, as plain values."""
    order = session.get(PosOrderRow, order_id)
    if order is None:
        return ()
    checks = tuple(
        (c.check_number, c.status, c.content_hash) for c in repo.checks_of(session, order_id)
    )
    return (order.status, order.party_size, tuple(order.pos_tables), checks)


def _known(session: Session, venue_id: str, listed: OrderReport) -> PosOrderRow | None:
    for ref in (listed.hub_id, listed.pos_order_id):
        if ref:
            found = repo.find_order(session, venue_id=venue_id, ref=ref)
            if found is not None:
                return found
    return None


def _reconcile_order(session: Session, report: ReconcileReport, listed: OrderReport) -> str | None:
    """Apply one pulled order in a savepoint; count what it did. maitred's id of the order, or
    None when it could not be applied."""
    report.seen += 1
    try:
        with session.begin_nested():
            known = _known(session, report.venue_id, listed)
            before = _snapshot(session, known.id) if known is not None else None
            order_id = known.id if known is not None else None
            for action in actions_for(listed, known=known is not None):
                change = PosChange(
                    venue_id=report.venue_id,
                    action=action,
                    payload=listed,
                    order_ref=order_id or listed.hub_id or listed.pos_order_id,
                    correlation_id=report.correlation_id,
                )
                order_id = apply_pos_order(session, change).order_id
            after = _snapshot(session, order_id) if order_id is not None else None
    except Exception as exc:  # one bad order must not hide the others
        if database_unavailable(exc):
            raise  # the database is unavailable: the writer answers for the whole job
        log.warning("order not reconciled", order=listed.pos_order_id, error=repr(exc))
        report.errors.append(f"order {listed.pos_order_id}: {type(exc).__name__}: {exc}"[:300])
        return None
    if before is None:
        report.created += 1
    elif before != after:
        report.updated += 1
    else:
        report.unchanged += 1
    return order_id


def pos_linked_venues(session: Session) -> list[str]:
    """Every venue that has a POS partner with a base URL whose contract lists orders."""
    rows = session.execute(
        select(VenueLink.venue_id, Partner.contract)
        .join(Partner, Partner.id == VenueLink.partner_id)
        .where(VenueLink.role == "pos", Partner.base_url.is_not(None))
        .distinct()
        .order_by(VenueLink.venue_id)
    )
    return [venue_id for venue_id, contract in rows if _lists_orders(contract)]


def _lists_orders(contract: str) -> bool:
    adapter = contracts.pos_of(contract)
    return adapter is not None and features.ORDERS_LIST in adapter.features


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
