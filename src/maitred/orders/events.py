"""Building and enqueueing `pos_order` events for the RMS: one per check (decision 8)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from maitred.connectors.mozrest.pos_wire import Commercials, EventItem, PosOrderEvent
from maitred.deliveries import service as deliveries
from maitred.orders import repository as repo
from maitred.orders.models import Check, PosOrder
from maitred.orders.rules import RMS_STATUS, payment_type
from maitred.tables import service as tables

EVENT_KIND = "rms.pos_order"


def _unix(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def build_event(
    session: Session, *, order: PosOrder, check: Check, event_type: str, rms_venue_id: str
) -> PosOrderEvent:
    """The event for one check, in the RMS's ids (venue, booking and tables)."""
    reservation_id = check.reservation_id or order.reservation_id
    translation = tables.translate_pos_to_rms(
        session, venue_id=order.venue_id, pos_table_ids=list(order.pos_tables)
    )
    prepayment = repo.prepayment_of(session, reservation_id)
    return PosOrderEvent(
        type=event_type,
        venueId=rms_venue_id,
        bookingId=repo.booking_id_of(session, reservation_id),
        checkNumber=check.check_number,
        partySize=order.party_size,
        date=order.date if order.date is not None else _unix(order.opened_at),
        status=RMS_STATUS[check.status],
        tables=translation.pos_table_ids,
        openedAt=_unix(check.opened_at),
        updatedAt=_unix(check.pos_updated_at or check.updated_at),
        closedAt=_unix(check.closed_at),
        voidedAt=_unix(check.voided_at),
        commercials=Commercials(
            totalAmount=check.total_amount,
            tax=check.tax,
            tip=check.tip,
            discount=check.discount,
            prepayment=Decimal(prepayment) if prepayment else Decimal(0),
            paymentType=payment_type(check.payment_method),
        ),
        items=[EventItem.model_validate(item) for item in check.items],
    )


def announce(
    session: Session,
    *,
    order: PosOrder,
    check: Check,
    event_type: str,
    correlation_id: str | None,
) -> int | None:
    """Enqueue the event for the venue's RMS; None when the venue has no RMS to tell."""
    rms = repo.rms_route(session.connection(), order.venue_id)
    if rms is None or not rms.webhook_url:
        return None
    event = build_event(
        session, order=order, check=check, event_type=event_type, rms_venue_id=rms.external_venue_id
    )
    endpoint_id = rms.endpoint_id
    if endpoint_id is None:  # the first event for this RMS, or its webhook URL changed
        endpoint_id = deliveries.ensure_endpoint(
            session, partner_id=rms.partner_id, name="webhook", url=rms.webhook_url
        )
    check_key = f"check:{order.venue_id}:{check.check_number}"
    check.announced = True
    return deliveries.enqueue(
        session,
        endpoint_id=endpoint_id,
        partner_id=rms.partner_id,
        kind=EVENT_KIND,
        url=rms.webhook_url,
        body=event.model_dump_json(),
        venue_id=order.venue_id,
        ordering_key=check_key,
        # Only updates carry full state that a newer update makes moot; a create or a void
        # must always reach the RMS.
        coalesce_key=check_key + ":update" if event_type == "update" else None,
        correlation_id=correlation_id,
    )
