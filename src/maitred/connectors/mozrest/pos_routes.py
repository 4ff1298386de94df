"""POS-facing Mozrest endpoints under `/v1/pos` (contracts.md §1.7; decisions 1, 2 and 10).

`{venueId}` is the POS's own venue id; `{orderId}` may be maitred's order id (returned on create,
and sent as `id` when maitred opened the order) or the POS's own order id.

Each is served by a plain Starlette route (`plain_routes`) ahead of its FastAPI route, which
stays registered for the OpenAPI document: the plain handler does what FastAPI's did, in the
same order (the body rule, the key, the path and the body validated together, one 400 naming
every failing field), without FastAPI's dependency solving, a sixth of a POS update's CPU on
the event loop (docs/decisions/0030).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import StringConstraints, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route

from maitred.connectors.mozrest.pos_mapping import order_report
from maitred.connectors.mozrest.pos_wire import PosOrder, PosOrderAnswer
from maitred.errors import BadRequest
from maitred.orders import intake
from maitred.orders.service import PosChange
from maitred.partners.service import Caller
from maitred.runtime import Runtime
from maitred.text import STORABLE_PATTERN
from maitred.web.bodies import JsonBodyRoute, json_bytes
from maitred.web.deps import PartnerDep, RuntimeDep, authenticate_partner, get_runtime
from maitred.web.validation import validation_details

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
    # No savepoint of its own: a POS update rarely fails, and one that does costs its batch a
    # second pass instead of every update a SAVEPOINT and its RELEASE (docs/decisions/0036).
    job = intake.receive(caller, venue, change)
    venue_id, applied = await runtime.writer.run(job, savepoint=False)
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


# --------------------------------------------------------------------------------------------
# The same four endpoints as plain routes (served first; see the module's docstring)
# --------------------------------------------------------------------------------------------

_PATH_ID = TypeAdapter(Annotated[str, StringConstraints(max_length=200)])


def _located(error: Any, loc: tuple[int | str, ...]) -> dict[str, Any]:
    return dict(error) | {"loc": loc}


def _path_errors(params: dict[str, str]) -> list[dict[str, Any]]:
    """What FastAPI reported of the path parameters: ids longer than the wire carries."""
    errors: list[dict[str, Any]] = []
    for name, value in params.items():
        try:
            _PATH_ID.validate_python(value)
        except ValidationError as exc:
            errors += [_located(error, ("path", name)) for error in exc.errors()]
    return errors


def _body_errors(body: bytes) -> tuple[PosOrder | None, list[dict[str, Any]]]:
    """The body as FastAPI read it (JSON parsed, then the model validated from the parsed
    value, so the same coercions apply), or its errors located under `body`."""
    if not body:
        return None, [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error"}
        return None, [error | {"ctx": {"error": exc.msg}}]
    except Exception as exc:  # too deep to parse, as FastAPI answers it
        raise HTTPException(400, "There was an error parsing the body") from exc
    try:
        return PosOrder.model_validate(value), []
    except ValidationError as exc:
        return None, [_located(error, ("body", *error["loc"])) for error in exc.errors()]


async def _plain(request: Request, action: str, order_ref: str | None) -> JSONResponse:
    raw = await request.body()
    body = json_bytes(raw, request.headers.get("content-type")) if raw else raw
    caller = authenticate_partner(request)
    params = {"venueId": request.path_params["venueId"]}
    if order_ref is not None:
        params["orderId"] = order_ref
    errors = _path_errors(params)
    payload, body_errors = _body_errors(body)
    errors += body_errors
    if errors or payload is None:
        raise BadRequest(details=validation_details(errors))
    answer = await _apply(
        request, get_runtime(request), caller, params["venueId"], action, payload, order_ref
    )
    return JSONResponse({"id": answer.id, "status": answer.status})


async def _create_plain(request: Request) -> JSONResponse:
    return await _plain(request, "create", None)


async def _change_plain(request: Request) -> JSONResponse:
    return await _plain(request, "update", request.path_params["orderId"])


def plain_routes() -> list[BaseRoute]:
    """The POS's four calls as plain routes, to be served ahead of `router`."""
    prefix = "/v1/pos/{venueId}/order"
    return [
        Route(prefix, _create_plain, methods=["POST"], name="create_order_plain"),
        Route(f"{prefix}/{{orderId}}", _change_plain, methods=["PUT"], name="update_order_plain"),
        Route(
            f"{prefix}/{{orderId}}/close",
            _close_plain,
            methods=["PUT"],
            name="close_order_plain",
        ),
        Route(
            f"{prefix}/{{orderId}}/void",
            _void_plain,
            methods=["PUT"],
            name="void_order_plain",
        ),
    ]


async def _close_plain(request: Request) -> JSONResponse:
    return await _plain(request, "close", request.path_params["orderId"])


async def _void_plain(request: Request) -> JSONResponse:
    return await _plain(request, "void", request.path_params["orderId"])
