"""Reading orders from a venue's POS: the listing (open, or closed within a window) and one
order. spec: contracts §1.6.4 and §1.6.5 (`GET /venue/{venueId}/orders[/{orderId}]`, Bearer)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from pydantic import TypeAdapter, ValidationError
from yarl import URL

from maitred.connectors import fetch
from maitred.connectors.mozrest.pos_wire import PosOrder
from maitred.errors import PartnerError, PartnerRejected
from maitred.monitoring.service import TraceRecord

TIMEOUT_SECONDS = 10.0
MAX_LISTING_BYTES = 20_000_000  # a day of closed orders of a busy venue, with room to spare
MAX_ORDER_BYTES = 1_000_000

_ENTRIES = TypeAdapter(list[dict[str, Any]])


class ListedOrder(PosOrder):
    """One order as the POS lists it: the order payload plus `hubId` (maitred's id)."""

    hubId: str | None = None


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

    def url(self, *path: str) -> URL:
        """`{base_url}/venue/{venueId}/orders[/…]`."""
        base = URL(f"{self.base_url.rstrip('/')}/venue/{self.external_venue_id}/orders")
        return base.joinpath(*path) if path else base

    def call(self, label: str, max_bytes: int) -> fetch.Call:
        """The limits and identity of one GET to this POS."""
        return fetch.Call(
            partner_id=self.partner_id,
            venue_id=self.venue_id,
            token=self.token,
            label=label,
            timeout=TIMEOUT_SECONDS,
            max_bytes=max_bytes,
            trace_limit=self.trace_limit,
            correlation_id=self.correlation_id,
        )


@dataclass(frozen=True)
class Pull:
    """One listing call's outcome: the orders it returned, entries it could not read, trace."""

    orders: list[ListedOrder]
    problems: list[str]
    trace: TraceRecord
    error: PartnerError | None = None
    unsupported: bool = False  # the POS answered 404/405/501: it has no order listing


@dataclass(frozen=True)
class Lookup:
    """One order fetched by id: the order, or the status and error; always the trace."""

    ref: str
    order: ListedOrder | None
    status: int | None
    trace: TraceRecord
    error: PartnerError | None = None


async def pull(http: aiohttp.ClientSession, pos: PosTarget, query: dict[str, str]) -> Pull:
    """One listing call (no redirects, bounded); never raises."""
    fetched = await fetch.get(
        http, pos.url().with_query(query), pos.call("POS orders", MAX_LISTING_BYTES)
    )
    orders: list[ListedOrder] = []
    problems: list[str] = []
    if fetched.error is not None or fetched.body is None:
        return Pull(orders, problems, fetched.trace, fetched.error, fetched.unsupported)
    error = _read_listing(fetched.body, orders, problems)
    if error is not None:
        return Pull([], problems, _failed(fetched.trace, error), error)
    return Pull(orders, problems, fetched.trace)


async def lookup(http: aiohttp.ClientSession, pos: PosTarget, ref: str) -> Lookup:
    """`GET …/orders/{ref}`: one order by the POS's id; never raises."""
    fetched = await fetch.get(http, pos.url(ref), pos.call("POS order", MAX_ORDER_BYTES))
    if fetched.error is not None or fetched.body is None:
        return Lookup(ref, None, fetched.status, fetched.trace, fetched.error)
    try:
        order = ListedOrder.model_validate_json(fetched.body)
    except ValidationError as exc:
        error = PartnerRejected(f"POS order {ref}: {exc.error_count()} invalid field(s)")
        return Lookup(ref, None, fetched.status, _failed(fetched.trace, error), error)
    return Lookup(ref, order, fetched.status, fetched.trace)


def _failed(trace: TraceRecord, error: PartnerError) -> TraceRecord:
    """The trace of a call that answered 2xx with something maitred could not read."""
    return replace(trace, error=error.message, outcome="failed")


def _read_listing(
    body: bytes, orders: list[ListedOrder], problems: list[str]
) -> PartnerError | None:
    """Read a listing into `orders`; an entry that is not an order is noted, not fatal."""
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
