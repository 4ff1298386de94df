"""Admin API for a venue's table mapping: review, refresh from the partners, confirm, unmap."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from maitred.flows import tables as tables_flow
from maitred.tables import service as tables_service
from maitred.tables.schemas import MappingRead, MappingsView, MappingUpdate, RefreshReport
from maitred.web.deps import RuntimeDep, require_admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/venues/{venue_id}/tables", response_model=MappingsView)
async def show_tables(venue_id: str, runtime: RuntimeDep) -> MappingsView:
    """Both sides' tables, the mappings, suggestions, stale mappings and unmapped tables."""

    def read() -> MappingsView:
        with runtime.db.read_sessions() as session:
            return tables_service.mappings(session, venue_id)

    return await run_in_threadpool(read)


@router.post("/venues/{venue_id}/tables/refresh", response_model=RefreshReport)
async def refresh_tables(venue_id: str, runtime: RuntimeDep) -> RefreshReport:
    """Fetch both partners' table listings now and re-run matching."""
    return await tables_flow.refresh(runtime, venue_id)


@router.put("/venues/{venue_id}/table-mappings/{rms_table_id}", response_model=MappingRead)
async def confirm_mapping(
    venue_id: str, rms_table_id: str, body: MappingUpdate, runtime: RuntimeDep
) -> MappingRead:
    """Map an RMS table to a POS table (confirms a suggestion or overrides a mapping)."""

    def job(session: Session) -> MappingRead:
        return tables_service.confirm(
            session, venue_id=venue_id, rms_table_id=rms_table_id, pos_table_id=body.pos_table_id
        )

    return await runtime.writer.run(job)


@router.delete("/venues/{venue_id}/table-mappings/{rms_table_id}", response_model=MappingRead)
async def unmap_table(venue_id: str, rms_table_id: str, runtime: RuntimeDep) -> MappingRead:
    """Remove an RMS table's mapping; answers the mapping that was removed."""

    def job(session: Session) -> MappingRead:
        return tables_service.unmap(session, venue_id=venue_id, rms_table_id=rms_table_id)

    return await runtime.writer.run(job)
