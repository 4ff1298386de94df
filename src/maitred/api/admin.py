"""The operator's admin API under `/admin` (admin token): partners, venues and apply.

Writes go through the group-commit writer and answer only after their commit; each one drops
this process's partner cache so a changed key authenticates (or stops) at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.orm import Session

from maitred.apply import service as apply_service
from maitred.apply.schemas import ApplyDocument, ApplyResult
from maitred.netguard import NetPolicy
from maitred.partners import service as partners_service
from maitred.partners.schemas import (
    SLUG_MAX,
    SLUG_PATTERN,
    Change,
    PartnerFields,
    PartnerRead,
    PartnerSpec,
    SigningSecretRead,
)
from maitred.partners.service import PartnerDirectory
from maitred.venues import service as venues_service
from maitred.venues.schemas import VenueFields, VenueRead, VenueSpec
from maitred.web.deps import RuntimeDep, require_admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])

IdPath = Annotated[str, Path(min_length=1, max_length=SLUG_MAX, pattern=SLUG_PATTERN)]
T = TypeVar("T")


async def _write(request: Request, runtime: RuntimeDep, job: Callable[[Session], T]) -> T:
    result = await runtime.writer.run(job)
    directory: PartnerDirectory = request.app.state.partners
    directory.invalidate()
    return result


CREATED: dict[int | str, dict[str, Any]] = {201: {"model": Change, "description": "Created"}}


def _status(change: Change, response: Response) -> Change:
    if change.action == "created":
        response.status_code = 201
    return change


@router.put("/partners/{partner_id}", response_model=Change, responses=CREATED)
async def put_partner(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    partner_id: IdPath,
    body: PartnerFields,
) -> Change:
    """Create or update a partner (201 when created). Omitted secrets keep their stored value."""
    spec = PartnerSpec(id=partner_id, **body.model_dump(exclude_unset=True))
    partners_service.check_urls(spec, NetPolicy.from_settings(runtime.settings))
    box = runtime.secrets
    change = await _write(request, runtime, lambda s: partners_service.upsert_partner(s, spec, box))
    return _status(change, response)


@router.get("/partners", response_model=list[PartnerRead])
async def list_partners(runtime: RuntimeDep) -> list[PartnerRead]:
    """Every partner, without secrets."""
    with runtime.db.read_sessions() as session:
        return partners_service.list_partners(session)


@router.get("/partners/{partner_id}", response_model=PartnerRead)
async def get_partner(runtime: RuntimeDep, partner_id: str) -> PartnerRead:
    """One partner, without secrets."""
    with runtime.db.read_sessions() as session:
        return partners_service.get_partner(session, partner_id)


@router.get("/partners/{partner_id}/signing-secret", response_model=SigningSecretRead)
async def get_signing_secret(runtime: RuntimeDep, partner_id: str) -> SigningSecretRead:
    """The secret this partner needs to verify maitred's webhook signatures."""
    with runtime.db.read_sessions() as session:
        return partners_service.signing_secret(session, partner_id, runtime.secrets)


@router.delete("/partners/{partner_id}", response_model=Change)
async def delete_partner(request: Request, runtime: RuntimeDep, partner_id: str) -> Change:
    """Delete a partner with its venue links and deliveries."""
    return await _write(request, runtime, lambda s: partners_service.delete_partner(s, partner_id))


@router.put("/venues/{venue_id}", response_model=Change, responses=CREATED)
async def put_venue(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    venue_id: IdPath,
    body: VenueFields,
) -> Change:
    """Create or update a venue and its links (201 when created); omitted roles are unlinked."""
    spec = VenueSpec(id=venue_id, **body.model_dump(exclude_unset=True))
    change = await _write(request, runtime, lambda s: venues_service.upsert_venue(s, spec))
    return _status(change, response)


@router.get("/venues", response_model=list[VenueRead])
async def list_venues(runtime: RuntimeDep) -> list[VenueRead]:
    """Every venue with its partner links."""
    with runtime.db.read_sessions() as session:
        return venues_service.list_venues(session)


@router.get("/venues/{venue_id}", response_model=VenueRead)
async def get_venue(runtime: RuntimeDep, venue_id: str) -> VenueRead:
    """One venue with its partner links."""
    with runtime.db.read_sessions() as session:
        return venues_service.get_venue(session, venue_id)


@router.delete("/venues/{venue_id}", response_model=Change)
async def delete_venue(request: Request, runtime: RuntimeDep, venue_id: str) -> Change:
    """Delete a venue with its links and tables."""
    return await _write(request, runtime, lambda s: venues_service.delete_venue(s, venue_id))


@router.post("/apply", response_model=ApplyResult)
async def apply(request: Request, runtime: RuntimeDep, body: ApplyDocument) -> ApplyResult:
    """Apply a whole document (the TOML file's shape, as JSON) in one transaction.

    `${VAR}` is not expanded here: the server's environment is not the caller's.
    """
    box, policy = runtime.secrets, NetPolicy.from_settings(runtime.settings)
    changes = await _write(
        request, runtime, lambda s: apply_service.apply_document(s, body, box, policy)
    )
    return ApplyResult(changes=changes)
