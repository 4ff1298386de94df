"""Pure rules for POS checks: what a new POS state means for the RMS (spec decisions 8 and 10).

A POS update carries no event id, so each check is compared with what we stored:
- a check we have never told the RMS about produces `create`;
- a changed check produces `update`, or `void` when it became void;
- a state that is older than the stored one (by the POS's `updatedAt`), identical to it, or that
  would reopen a closed or voided check produces nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class OrderStatus(StrEnum):
    """Where an order stands: requested (the create is written, the POS has not answered) →
    open → closed | void; failed when the POS refused the create."""

    REQUESTED = "requested"
    OPEN = "open"
    CLOSED = "closed"
    VOID = "void"
    FAILED = "failed"


class CheckStatus(StrEnum):
    """Where one check stands: open → closed | void (a closed check may still be voided)."""

    OPEN = "open"
    CLOSED = "closed"
    VOID = "void"


OPEN, CLOSED, VOID = CheckStatus.OPEN, CheckStatus.CLOSED, CheckStatus.VOID
FINAL = frozenset({OrderStatus.CLOSED, OrderStatus.VOID})  # an order that ended never reopens


@dataclass(frozen=True)
class CheckState:
    """One check as the POS last described it."""

    check_number: str
    status: str
    total_amount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    tip: Decimal = Decimal(0)
    discount: Decimal = Decimal(0)
    payment_method: str | None = None
    items: tuple[tuple[tuple[str, Any], ...], ...] = field(default_factory=tuple)
    updated_at: datetime | None = None

    def content_hash(self) -> str:
        """Identity of the content (not of the timestamp): equal hashes mean nothing changed."""
        document = {
            "status": self.status,
            # Cents, so 12.5 from the wire and 12.50 from the database hash alike.
            "amounts": [f"{v:.2f}" for v in (self.total_amount, self.tax, self.tip, self.discount)],
            "payment": self.payment_method,
            "items": [dict(item) for item in self.items],
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    """What we hold for a check: its last accepted state and whether the RMS heard of it."""

    state: CheckState
    announced: bool
    content_hash: str | None = None  # as stored (the state's own hash when not given)


@dataclass(frozen=True)
class Verdict:
    """What to do with a new state of one check."""

    accept: bool  # store the new state
    event: str | None  # "create" | "update" | "void" | None
    reason: str


def judge(stored: Stored | None, new: CheckState, new_hash: str | None = None) -> Verdict:
    """Decide whether `new` replaces `stored`, and which pos_order event it produces.

    `new_hash`: `new.content_hash()` when the caller has it; the stored side's hash is the one
    stored with it, so an unchanged check costs one hash and no write."""
    if stored is None:
        if new.status == VOID:
            # The RMS never heard of this check; there is nothing for it to void.
            return Verdict(True, None, "voided before the RMS was told of it")
        return Verdict(True, "create", "new check")
    old = stored.state
    if _is_older(new, old):
        return Verdict(False, None, "older than the stored state")
    if old.status in FINAL and new.status != old.status:
        if old.status == CLOSED and new.status == VOID:
            return Verdict(True, "void" if stored.announced else None, "closed check voided")
        return Verdict(False, None, f"a {old.status} check never reopens")
    if (new_hash or new.content_hash()) == (stored.content_hash or old.content_hash()):
        if not stored.announced and new.status != VOID:
            return Verdict(True, "create", "not yet announced")
        return Verdict(False, None, "no change")
    if not stored.announced:
        if new.status == VOID:
            return Verdict(True, None, "voided before the RMS was told of it")
        return Verdict(True, "create", "first announcement")
    return Verdict(True, "void" if new.status == VOID else "update", "changed")


def _is_older(new: CheckState, old: CheckState) -> bool:
    return (
        new.updated_at is not None
        and old.updated_at is not None
        and new.updated_at < old.updated_at
    )
