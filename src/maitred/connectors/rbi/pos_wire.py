"""The POS vendor side of the RBI contract, as maitred plays RBI's platform toward a POS
(contracts §2.5-2.9; decisions 11, 16, 17). Where the contract's bodies were not found, these are
maitred's reading of them, documented in docs/partners/rbi.md.

maitred sends: the price, commit and fire webhooks (each with the `callbackUrl` to answer on),
the store heartbeat. The POS sends: the callbacks, order events, store status changes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, JsonValue, StrictBool

from maitred.connectors.rbi.types import (
    Address,
    Cart,
    CartPriced,
    Charges,
    Customer,
    Discount,
    Fee,
    Feedback,
    FireOrderInSeconds,
    Id,
    Money,
    PaymentMethod,
    POSOrderError,
    PricedCharges,
    Seconds,
    ServiceMode,
    Url,
    Wire,
)

Errors = Annotated[list[POSOrderError], Field(max_length=50)]
# A success carries no errors (seed 004: "no errors should be sent"); an empty list is fine.
NoErrors = Annotated[list[POSOrderError], Field(max_length=0)]


class PriceWebhook(Wire):
    """maitred → POS: price this cart, answer on `callbackUrl`. `storeId` is the POS's own."""

    callbackUrl: Url
    id: Id
    number: Annotated[str, Field(max_length=32)] | None = None
    storeId: Id
    serviceMode: ServiceMode
    channel: Annotated[str, Field(max_length=64)] | None = None
    cart: Cart
    customer: Customer | None = None
    deliveryAddress: Address | None = None
    fees: Annotated[list[Fee], Field(max_length=20)] = Field(default_factory=list)
    orderDiscounts: Annotated[list[Discount], Field(max_length=20)] = Field(default_factory=list)
    instructions: Annotated[list[JsonValue], Field(max_length=50)] = Field(default_factory=list)


class PosPayment(Wire):
    """The payment a commit carries (contracts §2.11)."""

    paymentMethod: PaymentMethod
    total: Money | None = None
    amountLeftToBePaid: Money | None = None
    tip: Money | None = None


class CommitWebhook(Wire):
    """maitred → POS: commit the order priced earlier (the cart is not repeated: the POS reads
    it with Get Order), with its lead time."""

    callbackUrl: Url
    id: Id
    number: Annotated[str, Field(max_length=32)] | None = None
    storeId: Id
    payment: PosPayment
    charges: Charges | None = None
    customer: Customer | None = None
    fireOrderInSeconds: FireOrderInSeconds | None
    readyInSeconds: Seconds | None = None


class FireWebhook(Wire):
    """maitred → POS: send the committed order to the kitchen now (fire wins over lead time)."""

    callbackUrl: Url
    id: Id
    number: Annotated[str, Field(max_length=32)] | None = None
    storeId: Id


class _Failure(Wire):
    """A callback or event with errors; decision 17: `errors` and `partnerErrors` are both read."""

    status: Literal["ERROR"]
    errors: Errors = Field(default_factory=list)
    partnerErrors: Errors = Field(default_factory=list)


class Priced(Wire):
    """POS → `…/price/callback`: the priced cart, charges and feedback."""

    status: Literal["PRICED"]
    cart: CartPriced
    feedback: Annotated[list[Feedback], Field(max_length=200)] = Field(default_factory=list)
    charges: PricedCharges
    discounts: Annotated[list[Discount], Field(max_length=20)] = Field(default_factory=list)
    errors: NoErrors = Field(default_factory=list)
    partnerErrors: NoErrors = Field(default_factory=list)


class PriceFailed(_Failure):
    """POS → `…/price/callback`: the order cannot be priced."""


class Committed(Wire):
    """POS → `…/commit/callback`: the POS took the order."""

    status: Literal["COMMITTED"]
    errors: NoErrors = Field(default_factory=list)
    partnerErrors: NoErrors = Field(default_factory=list)


class CommitFailed(_Failure):
    """POS → `…/commit/callback`: the POS refused the order."""


class Preparing(Wire):
    """POS → `…/fire/callback`: the order went to the kitchen."""

    status: Literal["PREPARING"]
    errors: NoErrors = Field(default_factory=list)
    partnerErrors: NoErrors = Field(default_factory=list)


class FireFailed(_Failure):
    """POS → `…/fire/callback`: the order could not be fired."""


PriceCallback = Annotated[Priced | PriceFailed, Field(discriminator="status")]
CommitCallback = Annotated[Committed | CommitFailed, Field(discriminator="status")]
FireCallback = Annotated[Preparing | FireFailed, Field(discriminator="status")]
Callback = Priced | PriceFailed | Committed | CommitFailed | Preparing | FireFailed


class OrderEvent(Wire):
    """POS → `POST /v1/orders/{orderId}/events`: the order's progress. A resent COMMITTED or
    PREPARING is accepted and changes nothing (decision 13)."""

    status: Literal["COMMITTED", "PREPARING", "PREPARED", "DONE", "CANCELED", "ERROR"]
    errors: Errors = Field(default_factory=list)
    partnerErrors: Errors = Field(default_factory=list)


class Heartbeat(Wire):
    """maitred → POS, every 15 minutes per store: is this store taking orders?"""

    storeId: Id
    eventTime: AwareDatetime


class HeartbeatAnswer(Wire):
    """The POS's answer to a heartbeat."""

    isOnline: StrictBool
