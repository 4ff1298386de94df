"""The Mozrest RMS leg, spelled as the contract spells it (contracts.md §1.9; seeds 000 §3, 001).

Inbound models ignore unknown fields: Mozrest adds fields without a version change (§1.5), so a
partner sending a newer payload must still be accepted. Types that matter are strict: a
`partySize` of `"4"` is rejected rather than guessed at.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from maitred.connectors.mozrest.types import (
    MAX_CLAIMED_CHECKS,
    MAX_PREORDER_ITEMS,
    CheckNumber,
    Int32,
    Money,
    NonBlank,
    PartnerId,
    Tables,
    UnixSeconds,
    at_most,
)
from maitred.connectors.mozrest.types import WireIn as _In


class Contact(_In):
    """Guest contact details; every field optional."""

    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    telephone: str | None = None
    locale: str | None = None


class PreOrderedItem(_In):
    """One pre-ordered item (beta): `{sku, quantity, notes?}`."""

    sku: NonBlank
    quantity: Annotated[Int32, Field(gt=0)]  # spec: strictly positive integer
    notes: str | None = None


class ReservationWebhook(_In):
    """`POST /rms`: the full state of one booking, resent whole on every change."""

    bookingId: PartnerId
    venueId: Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
    partySize: Annotated[Int32, Field(ge=1)]
    status: Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S")]
    tables: Tables = Field(default_factory=list)
    date: UnixSeconds  # Unix seconds, UTC (the reservation time; a 64-bit column)
    prepayment: Money | None = None
    contact: Contact | None = None
    notes: str | None = None
    items: (
        Annotated[
            list[PreOrderedItem], at_most(MAX_PREORDER_ITEMS), Field(max_length=MAX_PREORDER_ITEMS)
        ]
        | None
    ) = None
    # older rms-docs example: check numbers already linked to the booking
    checks: (
        Annotated[
            list[CheckNumber], at_most(MAX_CLAIMED_CHECKS), Field(max_length=MAX_CLAIMED_CHECKS)
        ]
        | None
    ) = None

    @field_validator("items")
    @classmethod
    def _empty_items_mean_omitted(
        cls, value: list[PreOrderedItem] | None
    ) -> list[PreOrderedItem] | None:
        # spec: "Sending an empty array is treated the same as omitting it."
        return value or None

    def canonical(self) -> dict[str, Any]:
        """The payload as we store it: known fields only, JSON types, omitted fields left out."""
        return self.model_dump(mode="json", exclude_none=True)


class Accepted(BaseModel):
    """`POST /rms` answer, sent only once the booking is durable."""

    bookingId: str
    venueId: str
    status: str = "accepted"
    duplicate: bool = False


class PosTable(BaseModel):
    """A POS table as the RMS sees it: `{id, name, area}`."""

    id: str
    name: str
    area: str | None = None


class PosTables(BaseModel):
    """`GET /venues/{venueId}/pos-tables` answer."""

    venueId: str
    tables: list[PosTable]
    count: int
