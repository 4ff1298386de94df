"""The RBI contract's store routes (contracts §2.9; docs/decisions/0032): the POS's
`store-status-changed` and the channel's read of a store's availability, in the contract's error
shape."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, StrictBool

from maitred.checkout import stores as store_flow
from maitred.connectors.rbi.channel_wire import StoreStatusChanged
from maitred.connectors.rbi.web import correlation_id, rbi_router, require_kind
from maitred.web.deps import PartnerDep, RuntimeDep

StoreId = Annotated[
    str, Path(min_length=1, max_length=200, description="The caller's own id for the store.")
]


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class StoreStatusAnswer(BaseModel):
    """`{data: {storeId, isOnline, isAvailable, reason?, lastOnline?}}`'s data."""

    storeId: str
    isOnline: StrictBool
    isAvailable: StrictBool
    reason: str | None = None
    lastOnline: AwareDatetime | None = None


class StoreAnswer(BaseModel):
    """`{data: StoreStatusAnswer}`."""

    data: StoreStatusAnswer


def _answer(availability: store_flow.Availability) -> JSONResponse:
    data: dict[str, Any] = {
        "storeId": availability.store_id,
        "isOnline": availability.online,
        "isAvailable": availability.online,
    }
    if availability.reason:
        data["reason"] = availability.reason
    if availability.last_online_at is not None and availability.online:
        data["lastOnline"] = _iso(availability.last_online_at)
    return JSONResponse({"data": data})


pos_stores_router = rbi_router("/v1/stores", "POS orders (RBI)")
channel_stores_router = rbi_router("/v1/channel/stores", "Channel orders (RBI)")


@pos_stores_router.post("/{storeId}/store-status-changed", response_model=StoreAnswer)
async def store_status_changed(
    request: Request,
    runtime: RuntimeDep,
    caller: PartnerDep,
    storeId: StoreId,
    body: StoreStatusChanged,
) -> JSONResponse:
    """The POS reports at once that its store went online (`ACTIVE`) or offline
    (`INACTIVE`); the venue's channels get `STORE_UPDATED` when that changes its availability."""
    require_kind(caller, "pos")
    ctx = store_flow.Context.of(runtime.settings, correlation_id(request))
    online = body.storeStatus == "ACTIVE"
    availability = await runtime.writer.run(
        store_flow.report(caller.partner_id, storeId, online, body.reason, ctx)
    )
    return _answer(availability)


@channel_stores_router.get("/{storeId}", response_model=StoreAnswer)
async def store_status(runtime: RuntimeDep, caller: PartnerDep, storeId: StoreId) -> JSONResponse:
    """Whether the store takes orders now (the `callbackUrl` of `STORE_UPDATED`)."""
    require_kind(caller, "channel")
    watch = store_flow.Context.of(runtime.settings).watch

    def job() -> store_flow.Availability:
        with runtime.db.read_sessions() as session:
            return store_flow.availability_for_channel(session, caller.partner_id, storeId, watch)

    return _answer(await asyncio.to_thread(job))
