"""Receiving an RMS's full booking state: one inbound event, one reservation upsert, one
transaction (the caller runs these inside a writer job, so a 2xx means it is durable)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from maitred.clock import now
from maitred.errors import NotFound, field_details
from maitred.inbox import service as inbox
from maitred.reservations import repository, rules
from maitred.reservations.rules import BookingState, ReservationChange
from maitred.venues import repository as venues

EVENT_KIND = "rms.booking"


@dataclass(frozen=True)
class Receipt:
    """The outcome of one webhook: our venue, and what changed (None for a duplicate)."""

    venue_id: str
    duplicate: bool
    change: ReservationChange | None


def receive_on(
    connection: Connection,
    *,
    partner_id: str,
    external_venue_id: str,
    state: BookingState,
    correlation_id: str | None,
) -> Receipt:
    """Resolve the RMS's venue id, record the event once, apply the state if it is new (on the
    job's connection: the intake batches many per job)."""
    venue_id = venues.resolve_external(
        connection, partner_id=partner_id, external_id=external_venue_id
    )
    if venue_id is None:  # unknown, or another partner's: 404, never a hint
        raise NotFound("Venue not found", details=field_details("venueId", "Unknown venue."))
    incoming = rules.canonical(state.payload)  # serialized once: dedupe key, hash, stored text
    key = inbox.rms_booking_key(venue_id=venue_id, booking_id=state.booking_id, digest=incoming[1])
    event = {"partner_id": partner_id, "kind": EVENT_KIND, "venue_id": venue_id}
    fresh = inbox.record(connection, dedupe_key=key, correlation_id=correlation_id, **event)
    stored = repository.find(connection, venue_id=venue_id, booking_id=state.booking_id)
    if not fresh:
        effective = rules.effective_payload(state.payload, stored.items if stored else None)
        if stored is not None and stored.content_hash == rules.digest(effective):
            return Receipt(venue_id=venue_id, duplicate=True, change=None)
        # The booking went back to a state it had before (A, B, A): a new event, not a retry.
        key = f"{key}:v{stored.version + 1 if stored else 1}"
        if not inbox.record(connection, dedupe_key=key, correlation_id=correlation_id, **event):
            return Receipt(venue_id=venue_id, duplicate=True, change=None)
    change = _apply(
        connection,
        venue_id=venue_id,
        partner_id=partner_id,
        state=state,
        stored=stored,
        incoming=incoming,
        correlation_id=correlation_id,
    )
    return Receipt(venue_id=venue_id, duplicate=False, change=change)


def _apply(
    connection: Connection,
    *,
    venue_id: str,
    partner_id: str,
    state: BookingState,
    stored: repository.Stored | None,
    incoming: tuple[str, str] | None = None,
    correlation_id: str | None = None,
) -> ReservationChange:
    """Insert or update the row; a stored change also marks it for the follow-up (what it
    means for the POS is applied after the commit, by the worker: `orders.followups`)."""
    at = now()
    if stored is None:
        values = _columns(state, rules.effective_payload(state.payload, None), incoming)
        values |= {"venue_id": venue_id, "booking_id": state.booking_id, "version": 1}
        values |= {"rms_partner_id": partner_id, "created_at": at, "updated_at": at}
        values["followup_correlation_id"] = correlation_id
        new_id = repository.insert_if_new(connection, values)
        if new_id is not None:
            changed = frozenset(state.payload)
            return ReservationChange(new_id, venue_id, state.booking_id, True, changed, 1)
        # Another process stored this booking since we looked: apply over its row.
        stored = repository.find(connection, venue_id=venue_id, booking_id=state.booking_id)
        assert stored is not None
    effective = rules.effective_payload(state.payload, stored.items)
    values = _columns(state, effective, incoming)
    if values["content_hash"] == stored.content_hash:
        unchanged: frozenset[str] = frozenset()
        return ReservationChange(
            stored.id, venue_id, state.booking_id, False, unchanged, stored.version
        )
    values["updated_at"] = at
    values["followup_correlation_id"] = correlation_id
    version = repository.update_state(connection, reservation_id=stored.id, values=values)
    changed = rules.changed_fields(stored.payload, effective)
    return ReservationChange(stored.id, venue_id, state.booking_id, False, changed, version)


def _columns(
    state: BookingState, effective: dict[str, Any], incoming: tuple[str, str] | None
) -> dict[str, Any]:
    """Column values of a stored state (`payload` as canonical JSON text)."""
    text, digest = (
        incoming if incoming and effective is state.payload else rules.canonical(effective)
    )
    return {
        "status": state.status,
        "party_size": state.party_size,
        "date": state.date,
        "rms_tables": list(state.tables),
        "items": effective.get("items"),
        "payload": text,
        "content_hash": digest,
    }
