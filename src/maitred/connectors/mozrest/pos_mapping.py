"""Mozrest POS wire ↔ the orders domain: what a POS reports, what maitred asks of it, and the
`pos_order` event the RMS is told (contracts §1.6 to §1.8; decisions 5 and 8)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from pydantic import TypeAdapter

from maitred.connectors.mozrest.pos_wire import (
    Commercials,
    CreateOrderRequest,
    EventItem,
    PosCheck,
    PosItem,
    PosOrder,
    PosOrderEvent,
    PreOrderItem,
)
from maitred.orders.ports import CheckEvent, OrderReport, OrderRequest
from maitred.orders.rules import CheckState, CheckStatus

_ITEMS = TypeAdapter(list[PosItem])
_EVENT_ITEMS = TypeAdapter(list[EventItem])
RMS_STATUS = {CheckStatus.OPEN: "OPEN", CheckStatus.CLOSED: "CLOSE", CheckStatus.VOID: "VOID"}

_CARD_WORDS = re.compile(
    r"card|credit|debit|visa|master|amex|american express|maestro|diners|discover|jcb|"
    r"contactless|tarjeta|carte|karte|cb\b|apple ?pay|google ?pay|tpv",
    re.IGNORECASE,
)
_CASH_WORDS = re.compile(r"^\s*(cash|efectivo|esp[eè]ces|bar|contanti|contant)\s*$", re.IGNORECASE)
_CHECK_WORDS = re.compile(r"^\s*(check|cheque|cheques|checks)\s*$", re.IGNORECASE)


def payment_type(method: str | None) -> str:
    """POS `paymentMethod` → RMS `commercials.paymentType` (spec decision 8)."""
    if not method or not method.strip():
        return "others"
    if _CASH_WORDS.match(method):
        return "cash"
    if _CHECK_WORDS.match(method):
        return "check"
    if _CARD_WORDS.search(method):
        return "credit_card"
    return "others"


def order_report(order: PosOrder, *, hub_id: str | None = None) -> OrderReport:
    """The neutral report of a validated order payload (a POS call's, or a listed one's)."""
    return OrderReport(
        pos_order_id=order.id,
        status=order.status,
        tables=list(order.tables or []),
        checks=[check_state(check) for check in order.checks],
        # Updates carry no event id (decision 10): the content is the identity.
        digest=hashlib.sha256(order.model_dump_json().encode()).hexdigest(),
        party_size=order.partySize,
        updated_at=order.updatedAt,
        hub_id=hub_id,
    )


def check_state(check: PosCheck) -> CheckState:
    """One check as maitred stores it (items as `{id, name, price, quantity}`)."""
    return CheckState(
        check_number=check.checkNumber,
        status=check.status,
        total_amount=check.totalAmount,
        tax=check.tax,
        tip=check.tip,
        discount=check.discount,
        payment_method=check.paymentMethod,
        items=tuple(
            tuple(sorted(item.items())) for item in _ITEMS.dump_python(check.items, mode="json")
        ),
    )


def create_request(request: OrderRequest) -> CreateOrderRequest:
    """The create-order body (also the update's, decision 4)."""
    items = [
        PreOrderItem(sku=item.sku, quantity=item.quantity, notes=item.notes)
        for item in request.items
    ]
    return CreateOrderRequest(
        id=request.order_id,
        tables=list(request.tables),
        guestName=request.guest_name,
        guestEmail=request.guest_email,
        guestTelephone=request.guest_telephone,
        partySize=request.party_size,
        prepayment=request.prepayment,
        date=_local(request.seated_at),
        items=items or None,
    )


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")  # decision 5: venue-local Y-m-d H:i:s


def event_body(event: CheckEvent) -> str:
    """The `pos_order` webhook body for one check's change (seed 000 §1.2)."""
    return PosOrderEvent(
        type=event.type,
        venueId=event.venue_id,
        bookingId=event.booking_id,
        checkNumber=event.check_number,
        partySize=event.party_size,
        date=event.date,
        status=RMS_STATUS[CheckStatus(event.status)],
        tables=list(event.tables),
        openedAt=event.opened_at,
        updatedAt=event.updated_at,
        closedAt=event.closed_at,
        voidedAt=event.voided_at,
        commercials=Commercials(
            totalAmount=event.total_amount,
            tax=event.tax,
            tip=event.tip,
            discount=event.discount,
            prepayment=event.prepayment,
            paymentType=payment_type(event.payment_method),
        ),
        items=_EVENT_ITEMS.validate_python(event.items),
    ).model_dump_json()
