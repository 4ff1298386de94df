"""Admin reads of a venue's POS orders and their checks (closed ones kept at least 45 days)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from maitred.clock import has_utc_form
from maitred.orders import queries
from maitred.orders.rules import OrderStatus
from maitred.orders.schemas import OrderPage, OrderRead
from maitred.web.deps import RuntimeDep, require_admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/venues/{venue_id}/orders", response_model=OrderPage)
async def list_orders(
    venue_id: str,
    runtime: RuntimeDep,
    status: OrderStatus | None = None,
    changed_since: Annotated[
        Annotated[datetime, AfterValidator(has_utc_form)] | None,
        Query(description="ISO 8601; orders changed at or after it."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> OrderPage:
    """The venue's orders with their checks, most recently changed first."""

    def read() -> OrderPage:
        with runtime.db.read_sessions() as session:
            return queries.list_orders(
                session, venue_id, status=status, changed_since=changed_since, limit=limit
            )

    return await run_in_threadpool(read)


@router.get("/venues/{venue_id}/orders/{order_id}", response_model=OrderRead)
async def get_order(venue_id: str, order_id: str, runtime: RuntimeDep) -> OrderRead:
    """One order by maitred's id or the POS's id."""

    def read() -> OrderRead:
        with runtime.db.read_sessions() as session:
            return queries.get_order(session, venue_id, order_id)

    return await run_in_threadpool(read)
