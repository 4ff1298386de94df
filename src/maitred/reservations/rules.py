"""Pure rules for a booking's full state: the items desired-state rule and what changed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class BookingState:
    """One full reservation state as an RMS sent it, already validated (partner-neutral)."""

    booking_id: str
    status: str
    party_size: int
    date: int  # Unix seconds, UTC
    tables: list[str]
    items: list[dict[str, Any]] | None  # None: omitted (or sent empty)
    payload: dict[str, Any]  # the booking document (below), JSON types; `items` absent if omitted


# The stored booking document (`reservations.payload`) is maitred's canonical booking, which an
# RMS contract's mapping produces (docs/decisions/0021): `bookingId`, `status`, `partySize`,
# `date`, `tables`, `items` ({sku, quantity, notes}), `contact` ({firstname, lastname, email,
# telephone}), `prepayment` and `checks` (check numbers the booking claims). What the POS side
# reads of it, it reads through these.


@dataclass(frozen=True)
class Guest:
    """Who the booking is for, as far as the POS is told."""

    name: str | None
    email: str | None
    telephone: str | None


def guest(payload: dict[str, Any]) -> Guest:
    """The guest of a booking document."""
    contact = payload.get("contact") or {}
    name = " ".join(p for p in (contact.get("firstname"), contact.get("lastname")) if p)
    return Guest(name or None, contact.get("email"), contact.get("telephone"))


def prepayment(payload: dict[str, Any] | None) -> Decimal | None:
    """What the guest paid ahead, if anything."""
    value = (payload or {}).get("prepayment")
    return None if value is None else Decimal(str(value))


def claimed_checks(payload: dict[str, Any]) -> list[str]:
    """The POS check numbers the booking claims (multi-check), as text."""
    return [str(number) for number in payload.get("checks") or []]


@dataclass(frozen=True)
class ReservationChange:
    """What applying a state did to the stored reservation (the seam for the POS order flow)."""

    reservation_id: int
    venue_id: str
    booking_id: str
    created: bool
    changed: frozenset[str]  # top-level payload fields whose value changed (all of them if new)
    version: int

    @property
    def is_noop(self) -> bool:
        """True when the stored reservation is exactly as it was."""
        return not self.created and not self.changed


def effective_payload(
    incoming: dict[str, Any], stored_items: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The state to store: `incoming`, keeping the stored items when it carries none.

    spec (1.9.3): omitting `items` on an update leaves the stored items untouched, an empty array
    is the same as omitting it, and a non-empty array replaces the stored set (desired state).
    """
    if incoming.get("items") or not stored_items:
        return incoming
    return {**incoming, "items": stored_items}


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any]) -> frozenset[str]:
    """Top-level fields that differ between two stored payloads (every field of a new one)."""
    if before is None:
        return frozenset(after)
    keys = before.keys() | after.keys()
    return frozenset(k for k in keys if before.get(k) != after.get(k))


# The encoders `json.dumps` would build for these options on every call (it only reuses one for
# its defaults): built once, the same text for a third of the CPU (docs/decisions/0034).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def canonical(document: dict[str, Any]) -> tuple[str, str]:
    """A JSON document in canonical form (sorted keys, no spaces) and its SHA-256."""
    text = _CANONICAL(document)
    return text, hashlib.sha256(text.encode()).hexdigest()


def compact_json(value: Any) -> str:
    """JSON text without spaces, as the JSON columns of the hot paths are written."""
    return _COMPACT(value)


def digest(document: dict[str, Any]) -> str:
    """SHA-256 of a JSON document in canonical form."""
    return canonical(document)[1]
