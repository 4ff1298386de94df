"""What an operator reads of channel orders (docs/decisions/0033): a venue's orders, newest
first, and one order with its trace (every judged report, ignored and refused ones included)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.camel import CamelModel
from maitred.channel_orders import repository
from maitred.channel_orders.models import ChannelOrder, ChannelOrderEvent
from maitred.channel_orders.rules import ChannelOrderStatus
from maitred.errors import NotFound, field_details


class PartnerErrorRead(CamelModel):
    """One reason an order is in error (MENU, STORE, TIMEOUT or UNKNOWN)."""

    code: str
    message: str


class ChannelOrderRead(CamelModel):
    """A channel order as it stands: who placed it, which POS took it, where it is."""

    id: str
    venue_id: str
    channel_partner_id: str
    pos_partner_id: str
    external_reference_id: str | None
    service_mode: str
    status: ChannelOrderStatus
    awaiting: list[str]
    currency: str
    sub_total: int | None
    tax: int | None
    total: int | None
    lead_time: int | None
    fire_due_at: datetime | None
    errors: list[PartnerErrorRead]
    created_at: datetime
    updated_at: datetime


class ChannelOrderEventRead(CamelModel):
    """One judged report on the order: what came in, the verdict, and the status it left."""

    seq: int
    at: datetime
    source: str
    leg: str | None
    reported_status: str | None
    verdict: str
    status_before: str
    status_after: str
    reason: str
    errors: list[PartnerErrorRead]
    correlation_id: str | None


class ChannelOrderDetail(ChannelOrderRead):
    """One order with the carts as asked and as priced, and its trace."""

    cart: dict[str, Any]
    priced: dict[str, Any] | None
    customer: dict[str, Any] | None
    payment_method: str | None
    events: list[ChannelOrderEventRead]


class ChannelOrderPage(CamelModel):
    """A page of a venue's channel orders, newest first."""

    items: list[ChannelOrderRead]


def _errors(stored: Any) -> list[PartnerErrorRead]:
    return [
        PartnerErrorRead(code=e.code.name, message=e.message) for e in repository.errors_of(stored)
    ]


def _summary(order: ChannelOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "venue_id": order.venue_id,
        "channel_partner_id": order.channel_partner_id,
        "pos_partner_id": order.pos_partner_id,
        "external_reference_id": order.external_reference_id,
        "service_mode": order.service_mode,
        "status": ChannelOrderStatus(order.status),
        "awaiting": [leg for leg in order.awaiting.split(",") if leg],
        "currency": order.currency,
        "sub_total": order.sub_total,
        "tax": order.tax,
        "total": order.total,
        "lead_time": order.lead_time,
        "fire_due_at": order.fire_due_at,
        "errors": _errors(order.errors),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def _event(row: ChannelOrderEvent) -> ChannelOrderEventRead:
    return ChannelOrderEventRead(
        seq=row.seq,
        at=row.at,
        source=row.source,
        leg=row.leg,
        reported_status=row.reported_status,
        verdict=row.verdict,
        status_before=row.status_before,
        status_after=row.status_after,
        reason=row.reason,
        errors=_errors(row.errors),
        correlation_id=row.correlation_id,
    )


def list_orders(
    session: Session,
    venue_id: str,
    *,
    status: ChannelOrderStatus | None = None,
    limit: int = 100,
) -> ChannelOrderPage:
    """The venue's channel orders, newest first."""
    query = select(ChannelOrder).where(ChannelOrder.venue_id == venue_id)
    if status is not None:
        query = query.where(ChannelOrder.status == status.value)
    query = query.order_by(ChannelOrder.created_at.desc(), ChannelOrder.id).limit(limit)
    return ChannelOrderPage(
        items=[ChannelOrderRead(**_summary(order)) for order in session.scalars(query)]
    )


def get_order(
    session: Session, order_id: str, *, venue_id: str | None = None
) -> ChannelOrderDetail:
    """One order with its trace; 404 when it is not there (or not the venue's)."""
    order = repository.get(session, order_id)
    if order is None or (venue_id is not None and order.venue_id != venue_id):
        message = f"channel order {order_id} not found"
        raise NotFound(message, details=field_details("orderId", message))
    return ChannelOrderDetail(
        **_summary(order),
        cart=order.cart,
        priced=order.priced,
        customer=order.customer,
        payment_method=order.payment_method,
        events=[_event(row) for row in repository.events(session, order.id)],
    )
