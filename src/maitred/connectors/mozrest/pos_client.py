"""Reading orders from a venue's POS: the listing (open, or closed within a window) and one
order. spec: contracts §1.6.4 and §1.6.5 (`GET /venue/{venueId}/orders[/{orderId}]`, Bearer)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
from pydantic import TypeAdapter, ValidationError
from yarl import URL

from maitred.connectors import fetch
from maitred.connectors.mozrest.pos_mapping import order_report
from maitred.connectors.mozrest.pos_wire import PosOrder
from maitred.errors import PartnerError, PartnerRejected
from maitred.monitoring.service import TraceRecord
from maitred.orders.ports import OrderListing, OrderLookup, OrderReport
from maitred.partners.reach import Reach

TIMEOUT_SECONDS = 10.0
MAX_LISTING_BYTES = 20_000_000  # a day of closed orders of a busy venue, with room to spare
MAX_ORDER_BYTES = 1_000_000

_ENTRIES = TypeAdapter(list[dict[str, Any]])


class ListedOrder(PosOrder):
    """One order as the POS lists it: the order payload plus `hubId` (maitred's id)."""

    hubId: str | None = None


def orders_url(reach: Reach, *path: str) -> URL:
    """`{base_url}/venue/{venueId}/orders[/…]`."""
    base = URL(f"{reach.base_url.rstrip('/')}/venue/{reach.external_venue_id}/orders")
    return base.joinpath(*path) if path else base


def _call(reach: Reach, label: str, max_bytes: int) -> fetch.Call:
    """The limits and identity of one GET to this POS."""
    return fetch.Call(
        partner_id=reach.partner_id,
        venue_id=reach.venue_id,
        token=reach.token,
        label=label,
        timeout=TIMEOUT_SECONDS,
        max_bytes=max_bytes,
        trace_limit=reach.trace_limit,
        correlation_id=reach.correlation_id,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def pull(
    http: aiohttp.ClientSession,
    reach: Reach,
    *,
    closed_between: tuple[datetime, datetime] | None,
) -> OrderListing:
    """One listing call, of the open orders or of those closed in a window (no redirects,
    bounded); never raises."""
    query = {"status": "open"}
    if closed_between is not None:
        since, until = closed_between
        query = {"status": "closed", "from": _iso(since), "until": _iso(until)}
    fetched = await fetch.get(
        http, orders_url(reach).with_query(query), _call(reach, "POS orders", MAX_LISTING_BYTES)
    )
    if fetched.error is not None or fetched.body is None:
        return OrderListing([], [], fetched.trace, fetched.error, fetched.unsupported)
    orders: list[OrderReport] = []
    problems: list[str] = []
    error = _read_listing(fetched.body, orders, problems)
    if error is not None:
        return OrderListing([], problems, _failed(fetched.trace, error), error)
    return OrderListing(orders, problems, fetched.trace)


async def lookup(http: aiohttp.ClientSession, reach: Reach, ref: str) -> OrderLookup:
    """`GET …/orders/{ref}`: one order by the POS's id; never raises."""
    fetched = await fetch.get(
        http, orders_url(reach, ref), _call(reach, "POS order", MAX_ORDER_BYTES)
    )
    if fetched.error is not None or fetched.body is None:
        return OrderLookup(ref, None, fetched.status, fetched.trace, fetched.error)
    try:
        order = ListedOrder.model_validate_json(fetched.body)
    except ValidationError as exc:
        error = PartnerRejected(f"POS order {ref}: {exc.error_count()} invalid field(s)")
        return OrderLookup(ref, None, fetched.status, _failed(fetched.trace, error), error)
    return OrderLookup(ref, _report(order), fetched.status, fetched.trace)


def _report(listed: ListedOrder) -> OrderReport:
    """The order payload a POS call would have carried, and the hub id the POS kept."""
    return order_report(
        PosOrder.model_validate(listed.model_dump(exclude={"hubId"})), hub_id=listed.hubId
    )


def _failed(trace: TraceRecord, error: PartnerError) -> TraceRecord:
    """The trace of a call that answered 2xx with something maitred could not read."""
    return replace(trace, error=error.message, outcome="failed")


def _read_listing(
    body: bytes, orders: list[OrderReport], problems: list[str]
) -> PartnerError | None:
    """Read a listing into `orders`; an entry that is not an order is noted, not fatal."""
    try:
        entries = _ENTRIES.validate_json(body)
    except ValidationError:
        return PartnerRejected("POS orders: not a list of orders")
    for index, entry in enumerate(entries):
        try:
            orders.append(_report(ListedOrder.model_validate(entry)))
        except ValidationError as exc:
            label = entry.get("id", f"#{index}")
            problems.append(f"order {label!s:.64}: {exc.error_count()} invalid field(s)")
    return None
