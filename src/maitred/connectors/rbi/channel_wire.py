"""The channel API maitred offers ordering channels under `/v1/channel` (contracts §2.13, the
Channel OpenAPI's `PriceOrder`, `CommitOrder`, `PlaceOrder`, `Order`), spelled as it spells them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from maitred.connectors.rbi.types import (
    Address,
    Cart,
    CartPriced,
    Charges,
    Customer,
    Discount,
    FireOrderInSeconds,
    Id,
    Int32,
    OrderStatus,
    PaymentMethod,
    POSOrderError,
    Seconds,
    ServiceMode,
    StoreId,
    Text,
    Url,
    Wire,
)

PosVendor = Literal["BRINK", "CARROLS", "NCR", "QDI", "SICOM"]
MpfOrderId = Annotated[str, Field(max_length=200)]


class Loyalty(Wire):
    """A loyalty user and transaction."""

    loyaltyId: Id
    transactionId: Id


class PriceOrder(Wire):
    """`POST /v1/channel/orders/price`: create an order and have the POS price it."""

    externalReferenceId: Id | None = None
    storeId: StoreId
    serviceMode: ServiceMode
    cart: Cart
    customer: Customer
    charges: Charges | None = None
    mpfOrderId: MpfOrderId | None = None
    deliveryAddress: Address | None = None
    loyalty: Loyalty | None = None


class CommitOrder(Wire):
    """`POST /v1/channel/orders/{orderId}/commit`: the guest paid; the POS takes the order."""

    charges: Charges | None = None
    mpfOrderId: MpfOrderId | None = None
    paymentMethod: PaymentMethod
    # spec: required, and null (hold until fired) is a value, not an absence.
    fireOrderInSeconds: FireOrderInSeconds | None
    readyInSeconds: Seconds | None = None


class PlaceOrder(Wire):
    """`POST /v1/channel/orders/place`: price and commit in one call, answered at once; the
    outcome arrives as `ORDER_UPDATED` webhooks."""

    externalReferenceId: Id | None = None
    storeId: StoreId
    serviceMode: ServiceMode
    cart: Cart
    customer: Customer
    charges: Charges | None = None
    deliveryAddress: Address | None = None
    paymentMethod: PaymentMethod
    fireOrderInSeconds: FireOrderInSeconds | None
    readyInSeconds: Seconds | None = None
    mpfOrderId: MpfOrderId | None = None


class CancelOrder(Wire):
    """`POST /v1/channel/orders/{orderId}/cancel` (maitred's; the Channel OpenAPI has none): an
    optional reason, passed on to the POS in the order event."""

    reason: Text | None = None


class Payment(Wire):
    """How the guest paid."""

    paymentMethod: PaymentMethod | None = None


class Order(Wire):
    """An order as a channel reads it (Channel OpenAPI `Order`)."""

    id: Id
    externalReferenceId: Id | None = None
    storeId: StoreId
    cart: CartPriced
    serviceMode: ServiceMode
    customer: Customer
    charges: Charges
    discounts: Annotated[list[Discount], Field(max_length=20)] | None = None
    payment: Payment | None = None
    posVendor: PosVendor
    status: OrderStatus
    # The OpenAPI lists `channel` as required but never defines it: sent when known.
    channel: Annotated[str, Field(max_length=64)] | None = None
    deliveryAddress: Address | None = None
    loyaltyPointsEarned: Annotated[Int32, Field(ge=0)] | None = None
    errors: Annotated[list[POSOrderError], Field(max_length=20)] | None = None
    createdAt: AwareDatetime
    updatedAt: AwareDatetime
    fireOrderInSeconds: FireOrderInSeconds | None
    preparationTimeInSeconds: Seconds
    readyInSeconds: Seconds | None


class OrderAnswer(Wire):
    """`{data: Order}`: the answer to price, commit, fire, cancel and get."""

    data: Order


class OrderPlaced(Wire):
    """What place answers at once: the order's id and where to read it."""

    id: Id
    externalReferenceId: Id | None = None
    callbackUrl: Url


class PlaceAnswer(Wire):
    """`{data: OrderPlaced}`."""

    data: OrderPlaced


class StoreStatusChanged(Wire):
    """`POST …/stores/{storeId}/store-status-changed`: a store goes online or offline."""

    storeStatus: Literal["ACTIVE", "INACTIVE"]
    region: Annotated[str, Field(min_length=2, max_length=3)]
    updatedAt: AwareDatetime
    reason: Text | None = None
