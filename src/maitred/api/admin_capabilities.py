"""Admin API for a venue's capability report (decisions 4 and 15): what each partner's API
was shown to support, and resetting a feature so maitred tries it again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from maitred.capabilities import service as capabilities
from maitred.capabilities.schemas import CapabilityReport, CapabilityReset, Feature
from maitred.orders import pos_calls
from maitred.web.deps import RuntimeDep, require_admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/venues/{venue_id}/capabilities", response_model=CapabilityReport)
async def show_capabilities(venue_id: str, runtime: RuntimeDep) -> CapabilityReport:
    """Every feature maitred uses of the venue's partners: supported, missing (and why), or
    unknown."""

    def read() -> CapabilityReport:
        with runtime.db.read_sessions() as session:
            return capabilities.report(session, venue_id)

    return await run_in_threadpool(read)


@router.delete("/venues/{venue_id}/capabilities", response_model=CapabilityReset)
async def reset_capabilities(
    venue_id: str,
    runtime: RuntimeDep,
    feature: Annotated[Feature | None, Query(description="One feature; all when omitted.")] = None,
) -> CapabilityReset:
    """Forget the evidence so maitred calls again; order changes held for a missing
    `orders.update` are sent at once."""

    def job(session: Session) -> CapabilityReset:
        reset, forwarded = pos_calls.reset_capability(session, venue_id=venue_id, feature=feature)
        return CapabilityReset(venue_id=venue_id, reset=reset, forwarded=forwarded)

    return await runtime.writer.run(job)
