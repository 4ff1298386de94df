"""Mozrest RMS wire ↔ the reservations domain."""

from __future__ import annotations

from maitred.connectors.mozrest.wire import ReservationWebhook
from maitred.reservations.rules import BookingState


def booking_state(webhook: ReservationWebhook) -> BookingState:
    """The partner-neutral booking state of a validated `/rms` webhook."""
    payload = webhook.canonical()
    return BookingState(
        booking_id=webhook.bookingId,
        status=webhook.status,
        party_size=webhook.partySize,
        date=webhook.date,
        tables=list(webhook.tables),
        items=payload.get("items"),  # None when omitted or empty (spec: empty == omitted)
        payload=payload,
    )
