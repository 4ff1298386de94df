"""Admin reads of the traces: every call in and out, newest first, filterable."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import ConfigDict
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from maitred.camel import CamelModel
from maitred.monitoring.models import Trace
from maitred.web.deps import RuntimeDep, require_admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


class TraceRead(CamelModel):
    """One traced call (secrets already redacted when it was recorded)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    direction: str
    partner_id: str | None
    venue_id: str | None
    method: str
    url: str
    status_code: int | None
    outcome: str
    duration_ms: float
    request_headers: dict[str, Any] | None
    request_body: str | None
    response_body: str | None
    error: str | None
    correlation_id: str | None
    delivery_id: int | None


class TracePage(CamelModel):
    """A page of traces, newest first."""

    items: list[TraceRead]


@router.get("/traces", response_model=TracePage)
async def list_traces(
    runtime: RuntimeDep,
    partner: str | None = None,
    venue: str | None = None,
    direction: Literal["inbound", "outbound"] | None = None,
    outcome: Literal["success", "failed"] | None = None,
    correlation_id: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> TracePage:
    """Traces matching every filter given."""
    statement = select(Trace).order_by(Trace.id.desc()).limit(limit)
    for column, value in (
        (Trace.partner_id, partner),
        (Trace.venue_id, venue),
        (Trace.direction, direction),
        (Trace.outcome, outcome),
        (Trace.correlation_id, correlation_id),
    ):
        if value is not None:
            statement = statement.where(column == value)

    def read() -> list[TraceRead]:
        with runtime.db.read_sessions() as session:
            return [TraceRead.model_validate(row) for row in session.scalars(statement)]

    return TracePage(items=await run_in_threadpool(read))
