"""The webhooks maitred sends on the RBI contract (contracts §2.13; decisions 12, 18): each says
what changed and where to read it, plus the new state, so a receiver need not call back to act.

`ORDER_UPDATED` goes to the order's channel and to its POS, `STORE_UPDATED` and `MENU_UPDATED` to
channels. All are signed with Standard Webhooks and `x-signature` (decision 19).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StrictBool

from maitred.connectors.rbi.types import (
    Id,
    OrderStatus,
    POSOrderError,
    ServiceMode,
    StoreId,
    Url,
    Wire,
)

Brand = Annotated[str, Field(max_length=16)]
Region = Annotated[str, Field(min_length=2, max_length=3)]


class OrderUpdated(Wire):
    """An order moved: its id, its new status, and the URL to read it whole."""

    eventType: Literal["ORDER_UPDATED"]
    eventTime: AwareDatetime
    id: Id
    callbackUrl: Url
    brand: Brand | None = None
    region: Region | None = None
    status: OrderStatus
    errors: Annotated[list[POSOrderError], Field(max_length=50)] | None = None


class StoreUpdated(Wire):
    """A store went online or offline (the channel's own store id)."""

    eventType: Literal["STORE_UPDATED"]
    eventTime: AwareDatetime
    storeId: StoreId
    callbackUrl: Url
    brand: Brand | None = None
    region: Region | None = None
    isOnline: StrictBool


class MenuUpdated(Wire):
    """A store's menu changed: read the new version at `callbackUrl`."""

    eventType: Literal["MENU_UPDATED"]
    eventTime: AwareDatetime
    storeId: StoreId
    serviceMode: ServiceMode
    version: Annotated[str, Field(min_length=1, max_length=64)]
    callbackUrl: Url
    brand: Brand | None = None
    region: Region | None = None


ChannelEvent = Annotated[
    OrderUpdated | StoreUpdated | MenuUpdated, Field(discriminator="eventType")
]
