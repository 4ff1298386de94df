"""Operator endpoints for deliveries, endpoints and test pings under `/admin` (admin token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from maitred.deliveries import queries, service
from maitred.deliveries.models import State
from maitred.deliveries.schemas import (
    DeliveryDetail,
    DeliveryPage,
    EndpointRead,
    Queued,
    ReplayCount,
    ReplayFilter,
)
from maitred.partners import ping
from maitred.web.deps import RuntimeDep, require_admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])
# A row id: bounded so a 40-digit id is a 400, not an overflow in the database driver.
# BIGINT ids; the bound is exclusive so the published document can hold it exactly (api.docs).
RowId = Annotated[int, Path(ge=1, lt=2**63)]


@router.get("/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    runtime: RuntimeDep,
    state: State | None = None,
    partner: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryPage:
    """Deliveries, newest first."""
    with runtime.db.read_sessions() as session:
        items = queries.list_deliveries(session, state=state, partner_id=partner, limit=limit)
    return DeliveryPage(items=items)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(runtime: RuntimeDep, delivery_id: RowId) -> DeliveryDetail:
    """One delivery with its body and attempts."""
    with runtime.db.read_sessions() as session:
        return queries.get_delivery(session, delivery_id)


@router.post("/deliveries/replay", response_model=ReplayCount)
async def replay_failed(runtime: RuntimeDep, body: ReplayFilter | None = None) -> ReplayCount:
    """Queue again every failed delivery matching the filter (same message ids); without a
    body, every failed delivery."""
    body = body or ReplayFilter()
    count = await runtime.writer.run(
        lambda s: service.replay_failed(
            s,
            partner_id=body.partner_id,
            endpoint_id=body.endpoint_id,
            kind=body.kind,
            since=body.since,
        )
    )
    return ReplayCount(count=count)


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryDetail)
async def replay(runtime: RuntimeDep, delivery_id: RowId) -> DeliveryDetail:
    """Queue one failed delivery again (same message id)."""
    await runtime.writer.run(lambda s: service.replay(s, delivery_id))
    with runtime.db.read_sessions() as session:
        return queries.get_delivery(session, delivery_id)


@router.get("/endpoints", response_model=list[EndpointRead])
async def list_endpoints(runtime: RuntimeDep) -> list[EndpointRead]:
    """Every endpoint's health, circuit and disabled flag."""
    with runtime.db.read_sessions() as session:
        return queries.list_endpoints(session)


@router.post("/endpoints/{endpoint_id}/enable", response_model=EndpointRead)
async def enable_endpoint(runtime: RuntimeDep, endpoint_id: RowId) -> EndpointRead:
    """Re-enable an endpoint (after a 410) and close its circuit."""
    await runtime.writer.run(lambda s: service.enable_endpoint(s, endpoint_id))
    with runtime.db.read_sessions() as session:
        return queries.get_endpoint(session, endpoint_id)


@router.post("/partners/{partner_id}/ping", response_model=Queued, status_code=202)
async def ping_partner(runtime: RuntimeDep, request: Request, partner_id: str) -> Queued:
    """Queue a signed test event to the partner's webhook."""
    correlation_id = request.scope.get("state", {}).get("correlation_id")

    def job(session: Session) -> Queued:
        delivery_id = ping.enqueue_ping(
            session, partner_id=partner_id, correlation_id=correlation_id
        )
        return Queued(delivery_id=delivery_id, message_id=queries.message_id(session, delivery_id))

    return await runtime.writer.run(job)
