"""Our API's order shapes: what an operator reads of the orders maitred keeps."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from maitred.camel import CamelModel
from maitred.orders.rules import CheckStatus, OrderStatus


class CheckRead(CamelModel):
    """One check as the POS last described it, and whether the RMS has heard of it."""

    check_number: str
    status: CheckStatus
    total_amount: Decimal
    tax: Decimal
    tip: Decimal
    discount: Decimal
    payment_method: str | None
    items: list[dict[str, Any]]
    booking_id: str | None  # the booking the check belongs to, if any
    announced: bool
    opened_at: datetime | None
    closed_at: datetime | None
    voided_at: datetime | None
    updated_at: datetime


class OrderRead(CamelModel):
    """A POS order under maitred's id, with the POS's id and the booking it belongs to."""

    id: str
    pos_order_id: str | None
    source: str  # "booking" (maitred opened it) | "pos" (walk-in)
    booking_id: str | None
    status: OrderStatus
    pos_tables: list[str]
    party_size: int | None
    opened_at: datetime | None
    closed_at: datetime | None
    voided_at: datetime | None
    note: str | None
    updated_at: datetime
    checks: list[CheckRead]


class OrderPage(CamelModel):
    """Orders of a venue, most recently changed first."""

    venue_id: str
    items: list[OrderRead]
