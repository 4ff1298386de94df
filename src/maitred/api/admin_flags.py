"""Admin API for flags: list them, resolve one, acknowledge one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from maitred.flags import service as flags
from maitred.flags.schemas import FlagPage, FlagRead, FlagResolution
from maitred.web.deps import RuntimeDep, require_admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])
# BIGINT ids; the bound is exclusive so the published document can hold it exactly (api.docs).
FlagId = Annotated[int, Path(ge=1, lt=2**63)]


@router.get("/flags", response_model=FlagPage)
async def list_flags(
    runtime: RuntimeDep,
    venue: str | None = None,
    kind: str | None = None,
    include_resolved: bool = False,
    acknowledged: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FlagPage:
    """Open flags (or all of them), optionally of one venue or kind, acknowledged or not."""

    def read() -> FlagPage:
        with runtime.db.read_sessions() as session:
            rows = flags.list_flags(
                session,
                venue_id=venue,
                kind=kind,
                include_resolved=include_resolved,
                acknowledged=acknowledged,
                limit=limit,
            )
            return FlagPage(items=[FlagRead.of(row) for row in rows])

    return await run_in_threadpool(read)


@router.get("/flags/{flag_id}", response_model=FlagRead)
async def get_flag(runtime: RuntimeDep, flag_id: FlagId) -> FlagRead:
    """One flag."""
    with runtime.db.read_sessions() as session:
        return FlagRead.of(flags.get(session, flag_id))


@router.post("/flags/{flag_id}/resolve", response_model=FlagRead)
async def resolve_flag(
    runtime: RuntimeDep, flag_id: FlagId, body: FlagResolution | None = None
) -> FlagRead:
    """Resolve a flag (an optional `note` is kept); resolving a resolved flag changes nothing."""
    note = body.note if body is not None else None

    def job(session: Session) -> FlagRead:
        return FlagRead.of(flags.resolve_one(session, flag_id, note=note))

    return await runtime.writer.run(job)


@router.post("/flags/{flag_id}/ack", response_model=FlagRead)
async def acknowledge_flag(runtime: RuntimeDep, flag_id: FlagId) -> FlagRead:
    """Mark a flag as seen; it stays open until settled or resolved."""

    def job(session: Session) -> FlagRead:
        return FlagRead.of(flags.acknowledge(session, flag_id))

    return await runtime.writer.run(job)
