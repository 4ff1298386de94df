"""The Mozrest POS leg, spelled as the contract spells it (contracts.md §1.6, §1.7, §1.8.1).

Inbound models ignore unknown fields (the contract adds fields without notice); outbound models
are exact. Money is Decimal here and a JSON number on the wire. Every field type comes from
`types`, which bounds it by what the databases store.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from maitred.connectors.mozrest.types import (
    MAX_CHECKS,
    MAX_ITEMS,
    MAX_ORDER_ITEMS,
    CheckNumber,
    Instant,
    Int32,
    Int64,
    Money,
    MoneyOut,
    PartnerId,
    ShortText,
    TableId,
    Tables,
    at_most,
    no_amount,
)
from maitred.connectors.mozrest.types import WireIn as _In


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PosItem(_In):
    """A line on a check: `{id, name, price, quantity}`."""

    id: Int64
    name: str
    price: Money = no_amount()
    quantity: Annotated[Int32, Field(ge=0)] = 1


class PosCheck(_In):
    """One check of an order (split bills give several)."""

    checkNumber: CheckNumber  # spec: "This value should not be blank."
    status: Literal["open", "closed", "void"] = "open"
    totalAmount: Money = no_amount()
    tax: Money = no_amount()
    tip: Money = no_amount()
    discount: Money = no_amount()
    paymentMethod: ShortText | None = None
    items: Annotated[list[PosItem], at_most(MAX_ITEMS)] = Field(
        default_factory=list, max_length=MAX_ITEMS
    )


class PosOrder(_In):
    """The order payload a POS sends on create, update, close and void."""

    id: PartnerId  # the POS's own order id
    status: Literal["open", "closed"] = "open"
    tables: Tables | None = None
    # spec: deprecated, accepted (`deprecated` is said in the schema only: pydantic would warn
    # on every read of the field)
    tableId: TableId | None = Field(default=None, json_schema_extra={"deprecated": True})
    partySize: Annotated[Int32, Field(ge=0)] | None = None
    checks: Annotated[list[PosCheck], at_most(MAX_CHECKS)] = Field(
        default_factory=list,
        max_length=MAX_CHECKS,
        # `_items_within_the_order_limit`, which JSON Schema cannot state across the checks
        description=f"At most {MAX_ORDER_ITEMS} items across the order's checks.",
        json_schema_extra={"x-maxItemsAcrossChecks": MAX_ORDER_ITEMS},
    )
    updatedAt: Instant | None = None  # not in the contract; used for ordering when present

    @field_validator("checks")
    @classmethod
    def _items_within_the_order_limit(cls, checks: list[PosCheck]) -> list[PosCheck]:
        if sum(len(check.items) for check in checks) > MAX_ORDER_ITEMS:
            raise PydanticCustomError(
                "too_many_items", f"At most {MAX_ORDER_ITEMS} items across an order's checks."
            )
        return checks

    @model_validator(mode="after")
    def _tables_from_table_id(self) -> PosOrder:
        # A POS still filling the deprecated field may send `tables` empty beside it.
        if not self.tables:
            self.tables = [self.tableId] if self.tableId else []
        return self


class PosOrderAnswer(_Out):
    """What maitred answers the POS: `{id, status}` (id = maitred's order id)."""

    id: str
    status: str


class PreOrderItem(_Out):
    """A pre-ordered item forwarded to the POS on create (beta in the contract)."""

    sku: str
    quantity: int
    notes: str | None = None


class CreateOrderRequest(_Out):
    """`POST /venue/{venueId}/orders` body maitred sends to the POS."""

    id: str
    tables: list[str]
    guestName: str | None = None
    guestEmail: str | None = None
    guestTelephone: str | None = None
    partySize: int | None = None
    prepayment: MoneyOut | None = None
    date: str | None = None  # "Y-m-d H:i:s" in the venue's time zone (decision 5)
    items: list[PreOrderItem] | None = None


class CreateOrderResponse(_In):
    """The POS's answer to create: `{id, checkNumber}`."""

    id: PartnerId | Int64
    checkNumber: CheckNumber | Int64 | None = None


class Commercials(_Out):
    """`commercials` of a pos_order event."""

    totalAmount: MoneyOut
    tax: MoneyOut
    tip: MoneyOut
    discount: MoneyOut
    prepayment: MoneyOut
    paymentType: Literal["credit_card", "cash", "check", "others"]


class EventItem(_Out):
    """An item of a pos_order event, built from the check's stored items."""

    id: int
    name: str
    # The stored item's JSON number, passed through: it was rounded to cents when it came in,
    # and reading 2,000 of them back into Decimal per event was most of a large order's cost.
    price: float
    quantity: int


class PosOrderEvent(_Out):
    """The `pos_order` webhook maitred sends to the RMS, one per check (seed 000 §1.2)."""

    type: Literal["create", "update", "void"]
    venueId: str
    bookingId: str | None
    checkNumber: str
    partySize: int | None
    date: int | None
    status: Literal["OPEN", "CLOSE", "VOID"]
    tables: list[str]
    openedAt: int | None
    updatedAt: int | None
    closedAt: int | None
    voidedAt: int | None
    commercials: Commercials
    items: list[EventItem]
