"""Admin reads of a venue's channel orders and one order's trace (docs/decisions/0033)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from maitred.channel_orders import queries
from maitred.channel_orders.queries import ChannelOrderDetail, ChannelOrderPage
from maitred.channel_orders.rules import ChannelOrderStatus
from maitred.web.deps import RuntimeDep, require_admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/venues/{venue_id}/channel-orders", response_model=ChannelOrderPage)
async def list_channel_orders(
    venue_id: str,
    runtime: RuntimeDep,
    status: ChannelOrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ChannelOrderPage:
    """The venue's channel orders, newest first."""

    def read() -> ChannelOrderPage:
        with runtime.db.read_sessions() as session:
            return queries.list_orders(session, venue_id, status=status, limit=limit)

    return await run_in_threadpool(read)


@router.get("/venues/{venue_id}/channel-orders/{order_id}", response_model=ChannelOrderDetail)
async def get_channel_order(
    venue_id: str, order_id: str, runtime: RuntimeDep
) -> ChannelOrderDetail:
    """One channel order with its carts and its trace, oldest report first."""

    def read() -> ChannelOrderDetail:
        with runtime.db.read_sessions() as session:
            return queries.get_order(session, order_id, venue_id=venue_id)

    return await run_in_threadpool(read)
