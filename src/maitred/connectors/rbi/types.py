"""Field types and shared models of the RBI contract, spelled as contracts.md §2.12 spells them.

Inbound models ignore unknown fields (the platform adds fields without notice); every bound is a
JSON-schema keyword (`ge`, `le`, `pattern`, `min_length`), so the published schema says exactly
what the validators accept and clients generated from it make the same checks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt

from maitred import text

# Integers as a BIGINT column and a 64-bit client hold them.
# `lt=2**63` rather than `le=2**63 - 1`: the published document can spell 2^63 exactly (a float
# of 2^63 - 1 is 2^63), and for integers the two bounds are the same.
Int64 = Annotated[StrictInt, Field(ge=-(2**63), lt=2**63)]
Int32 = Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]
Seconds = Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]
# spec (contracts §2.6): the range is 0 to 100000; null means "hold until a fire".
FireOrderInSeconds = Annotated[StrictInt, Field(ge=0, le=100_000)]
# A selection is bought at least once: the channel schema's minimum of 0 would let a line of
# nothing reach the POS.
Quantity = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
Currency = Annotated[
    str,
    Field(
        min_length=3,
        max_length=3,
        pattern=r"^[A-Z]{3}$",
        description="ISO-4217 alphabetic code",
        examples=["EUR"],
    ),
]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Text = Annotated[str, Field(max_length=2000)]
Url = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://\S+$",
        json_schema_extra={"format": "uri"},
    ),
]
# spec (Channel OpenAPI StoreId): "^\d+$".
StoreId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\d+$")]
ServiceMode = Literal["CURBSIDE", "DELIVERY", "DRIVE_THRU", "EAT_IN", "TABLE_SERVICE", "TAKEOUT"]
OrderStatus = Literal[
    "CREATED", "PRICED", "COMMITTED", "PREPARING", "PREPARED", "DONE", "CANCELED", "ERROR"
]
ErrorCode = Literal["MENU", "STORE", "TIMEOUT", "UNKNOWN"]
FeeType = Literal["BAG_FEE", "CUP_FEE", "DELIVERY_FEE", "SERVICE_FEE"]
PaymentMethod = Literal[
    "APPLE_PAY", "CASH", "CREDIT_CARD", "GIFTCARD", "GOOGLE_PAY", "PAYPAL", "UNPAID", "VENMO"
]
Phone = Annotated[str, Field(pattern=r"^\+[1-9]\d{1,14}$", description="E.164, with its +")]
Email = Annotated[
    str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", json_schema_extra={"format": "email"})
]


class Wire(text.StorableModel):
    """An RBI body: unknown fields ignored, storable text only."""

    model_config = ConfigDict(extra="ignore")


class Money(Wire):
    """`{currency, amount}`: an integer amount of the currency's minor unit."""

    currency: Currency
    amount: Int64


class POSOrderError(Wire):
    """Why the POS could not price, commit or fire: `{code, message}`."""

    code: ErrorCode
    message: Annotated[str, Field(min_length=1, max_length=2000)]


class MenuSelection(Wire):
    """One node of the cart tree; `externalReferenceId` is the POS's PLU."""

    id: Id
    referenceId: Id | None = None
    externalReferenceId: Id | None = None
    type: Annotated[str, Field(max_length=64)] | None = None
    quantity: Quantity
    price: Money | None = None
    menuSelections: Annotated[list[MenuSelection], Field(min_length=1, max_length=100)] | None = (
        None
    )


class MenuSelectionPriced(MenuSelection):
    """A priced selection: `price` is what the line costs, for its quantity and its parts."""

    price: Money


class Cart(Wire):
    """`{menuSelections}`: at least one selection."""

    menuSelections: Annotated[list[MenuSelection], Field(min_length=1, max_length=200)]


class Feedback(Wire):
    """The POS's word on an adjusted entry; omitted fields mean "available, price right"."""

    entryId: Id
    isAvailable: StrictBool | None = None
    price: Money | None = None


class CartPriced(Wire):
    """A priced cart."""

    menuSelections: Annotated[list[MenuSelectionPriced], Field(max_length=200)]
    feedback: Annotated[list[Feedback], Field(max_length=200)] | None = None


class Fee(Wire):
    """`{type, total}`."""

    type: FeeType
    total: Money


class Discount(Wire):
    """`{type: DISCOUNT, total}`."""

    type: Literal["DISCOUNT"]
    total: Money


class MpfTax(Wire):
    """Taxes a marketplace facilitator remits itself."""

    taxRemittedByMpf: Money
    isTaxRemittedByMpf: StrictBool


class Charges(Wire):
    """What the order costs, as the channel or the POS gives it."""

    tax: Money | None = None
    mpfTax: MpfTax | None = None
    subTotal: Money | None = None
    total: Money | None = None
    fees: Annotated[list[Fee], Field(max_length=20)] | None = None


class PricedCharges(Charges):
    """Charges of a priced answer: sub-total, tax and total are all given."""

    tax: Money
    subTotal: Money
    total: Money


class Customer(Wire):
    """The guest: `name` and `email` required."""

    id: Id | None = None
    externalReferenceId: Id | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    username: Annotated[str, Field(max_length=200)] | None = None
    phone: Phone | None = None
    email: Email


class GeoPoint(Wire):
    """Latitude and longitude in degrees."""

    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]


class Address(Wire):
    """A delivery address."""

    administrativeArea: Text | None = None
    coordinates: GeoPoint | None = None
    formattedAddress: Text
    instructions: Text | None = None
    locality: Text | None = None
    postalCode: Annotated[str, Field(max_length=32)] | None = None
    regionCode: Annotated[str, Field(min_length=2, max_length=3)]
    route: Text
    streetNumber: Annotated[str, Field(max_length=32)]
    sublocality: Text | None = None
    subpremise: Text | None = None
