"""POS-facing Mozrest endpoints under `/v1/pos` (contracts.md §1.7; decisions 1, 2 and 10).

`{venueId}` is the POS's own venue id; `{orderId}` may be maitred's order id (returned on create,
and sent as `id` when maitred opened the order) or the POS's own order id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from maitred.connectors.mozrest.pos_mapping import order_report
from maitred.connectors.mozrest.pos_wire import PosOrder, PosOrderAnswer
from maitred.orders import intake
from maitred.orders.service import PosChange
from maitred.partners.service import Caller
from maitred.runtime import Runtime
from maitred.text import STORABLE_PATTERN
from maitred.web.bodies import JsonBodyRoute
from maitred.web.deps import PartnerDep, RuntimeDep

# A body without Content-Type reads as JSON, as on /rms (maitred.web.bodies): FastAPI's strict
# default guards browsers' cookie sessions, and these routes take only a Bearer key.
router = APIRouter(
    prefix="/v1/pos", tags=["POS"], route_class=JsonBodyRoute, strict_content_type=False
)
# As long as the ids the wire carries (connectors.mozrest): a longer one is reported as too long.
# NUL is refused at the edge for every path (monitoring.middleware); the pattern says so.
_ID = {"pattern": STORABLE_PATTERN}
VenueId = Annotated[
    str, Path(max_length=200, description="The POS's own venue id.", json_schema_extra=_ID)
]
OrderId = Annotated[
    str,
    Path(
        max_length=200,
        description="maitred's order id or the POS's own order id.",
        json_schema_extra=_ID,
    ),
]


async def _apply(
    request: Request,
    runtime: Runtime,
    caller: Caller,
    venue: str,
    action: str,
    payload: PosOrder,
    order_ref: str | None = None,
) -> PosOrderAnswer:
    change = PosChange(
        venue_id="",
        action=action,
        payload=order_report(payload),
        order_ref=order_ref,
        correlation_id=request.scope.get("state", {}).get("correlation_id"),
    )
    venue_id, applied = await runtime.writer.run(intake.receive(caller, venue, change))
    request.state.venue_id = venue_id
    return PosOrderAnswer(id=applied.order_id, status=applied.status)


@router.post("/{venueId}/order", response_model=PosOrderAnswer)
async def create_order(
    request: Request, runtime: RuntimeDep, caller: PartnerDep, venueId: VenueId, payload: PosOrder
) -> PosOrderAnswer:
    """An order opened in the POS with no reservation behind it (a walk-in)."""
    return await _apply(request, runtime, caller, venueId, "create", payload)


@router.put("/{venueId}/order/{orderId}", response_model=PosOrderAnswer)
async def update_order(
    request: Request,
    runtime: RuntimeDep,
    caller: PartnerDep,
    venueId: VenueId,
    orderId: OrderId,
    payload: PosOrder,
) -> PosOrderAnswer:
    """The order changed in the POS (items, checks, split, table move)."""
    return await _apply(request, runtime, caller, venueId, "update", payload, orderId)


@router.put("/{venueId}/order/{orderId}/close", response_model=PosOrderAnswer)
async def close_order(
    request: Request,
    runtime: RuntimeDep,
    caller: PartnerDep,
    venueId: VenueId,
    orderId: OrderId,
    payload: PosOrder,
) -> PosOrderAnswer:
    """The guest paid: the final bill, with closed checks."""
    return await _apply(request, runtime, caller, venueId, "close", payload, orderId)


@router.put("/{venueId}/order/{orderId}/void", response_model=PosOrderAnswer)
async def void_order(
    request: Request,
    runtime: RuntimeDep,
    caller: PartnerDep,
    venueId: VenueId,
    orderId: OrderId,
    payload: PosOrder,
) -> PosOrderAnswer:
    """The order was voided in the POS (decision 1: by analogy with close)."""
    return await _apply(request, runtime, caller, venueId, "void", payload, orderId)
