"""Pure rules for a booking's full state: the items desired-state rule and what changed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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
    payload: dict[str, Any]  # every known field, JSON types; `items` absent when omitted


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


def canonical(document: dict[str, Any]) -> tuple[str, str]:
    """A JSON document in canonical form (sorted keys, no spaces) and its SHA-256."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text, hashlib.sha256(text.encode()).hexdigest()


def digest(document: dict[str, Any]) -> str:
    """SHA-256 of a JSON document in canonical form."""
    return canonical(document)[1]
