"""What maitred needs from a venue's POS, and what it tells the venue's RMS, as neutral types.

A contract's adapter (`maitred.connectors.<contract>`) implements these for its partners: it
builds the calls that go through the outbox (pure: run inside the writer job), reads the
answers, maps what the partner reports to these types, and makes the read-throughs the use
cases await. Nothing here is spelled as a partner spells it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from maitred.errors import PartnerError
from maitred.monitoring.service import TraceRecord
from maitred.orders.rules import CheckState
from maitred.partners.reach import Http, Reach
from maitred.tables.ports import TableSource


@dataclass(frozen=True)
class PreOrder:
    """An item the guest ordered with the booking."""

    sku: str
    quantity: int
    notes: str | None = None


@dataclass(frozen=True)
class OrderRequest:
    """An order maitred asks the POS to open for a booking, or the state it asks it to take."""

    order_id: str  # maitred's
    tables: Sequence[str]  # the POS's table ids
    seated_at: datetime  # in the venue's time zone
    party_size: int | None = None
    guest_name: str | None = None
    guest_email: str | None = None
    guest_telephone: str | None = None
    prepayment: Decimal | None = None
    items: Sequence[PreOrder] = ()


@dataclass(frozen=True)
class OutboundCall:
    """One call to a partner, built inside the writer job and sent by the delivery engine."""

    method: str
    path: str  # after the partner's base URL, e.g. "/venue/v-1/orders"
    body: str
    # Identity of what the call asks, without maitred's own ids: a booking change that would
    # send the same request again sends nothing.
    digest: str = ""


@dataclass(frozen=True)
class Opened:
    """What the POS's answer to an open-order call says: its id for the order, and the number
    of the check it opened, when it says so."""

    pos_order_id: str | None = None
    check_number: str | None = None


@dataclass(frozen=True)
class OrderReport:
    """An order as the POS reports it (a call it makes, or a listing maitred pulls)."""

    pos_order_id: str
    status: str  # "open" | "closed"
    tables: Sequence[str]
    checks: Sequence[CheckState]  # their `updated_at` is the order's
    digest: str  # identity of the content as the partner sent it (inbound dedupe)
    party_size: int | None = None
    updated_at: datetime | None = None  # the POS's, when it says
    hub_id: str | None = None  # maitred's id of the order, when the POS gives it back


@dataclass(frozen=True)
class OrderListing:
    """One listing call's outcome: the orders, entries it could not read, the trace."""

    orders: Sequence[OrderReport]
    problems: Sequence[str]
    trace: TraceRecord
    error: PartnerError | None = None
    unsupported: bool = False  # the POS answered that it has no order listing


@dataclass(frozen=True)
class OrderLookup:
    """One order fetched by the POS's id: the order, or the status and error; the trace."""

    ref: str
    order: OrderReport | None
    status: int | None
    trace: TraceRecord
    error: PartnerError | None = None


class PosAdapter(TableSource, Protocol):
    """A POS contract: open and change orders, read the answers, list and get orders."""

    def open_order(self, external_venue_id: str, request: OrderRequest) -> OutboundCall:
        """The call that opens `request` (feature `orders.create`)."""
        ...

    def change_order(
        self, external_venue_id: str, pos_order_id: str, request: OrderRequest
    ) -> OutboundCall:
        """The call that brings an open order to `request` (feature `orders.update`)."""
        ...

    def opened(self, body: str | None) -> Opened:
        """What a successful answer to an open-order call says (empty when unreadable)."""
        ...

    def refused_items(self, sent: str, status: int | None, answer: str | None) -> bool:
        """True when the answer to the open-order call `sent` refuses the pre-ordered items it
        carried, and only them (the order opens when asked again without them)."""
        ...

    async def list_orders(
        self, http: Http, reach: Reach, *, closed_between: tuple[datetime, datetime] | None
    ) -> OrderListing:
        """The venue's open orders, or those closed between two moments (`orders.list`)."""
        ...

    async def get_order(self, http: Http, reach: Reach, ref: str) -> OrderLookup:
        """One order by the POS's id (`orders.get`)."""
        ...


@dataclass(frozen=True)
class CheckEvent:
    """What the RMS is told when one check changed, in the RMS's ids (decision 8)."""

    type: str  # "create" | "update" | "void"
    venue_id: str  # the RMS's
    booking_id: str | None
    check_number: str
    status: str  # a `CheckStatus`
    tables: Sequence[str]  # the RMS's table ids
    party_size: int | None
    date: int | None  # the seating time, Unix seconds
    opened_at: int | None
    updated_at: int | None
    closed_at: int | None
    voided_at: int | None
    total_amount: Decimal
    tax: Decimal
    tip: Decimal
    discount: Decimal
    prepayment: Decimal
    payment_method: str | None
    items: Sequence[dict[str, Any]]  # as stored: id, name, price, quantity


class RmsAdapter(TableSource, Protocol):
    """An RMS contract: tell it a check changed; list its tables."""

    def check_event(self, event: CheckEvent) -> str:
        """The body of the webhook that tells the RMS of `event`."""
        ...
