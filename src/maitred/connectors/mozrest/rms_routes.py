"""RMS-facing Mozrest endpoints: `POST /rms` and `GET /venues/{venueId}/pos-tables`
(contracts.md §1.9, seed 001)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Route

from maitred import signals
from maitred.connectors.mozrest.rms_mapping import booking_state
from maitred.connectors.mozrest.wire import Accepted, PosTable, PosTables, ReservationWebhook
from maitred.errors import BadRequest, NotFound, field_details
from maitred.flows import tables as tables_flow
from maitred.flows.booking_intake import BookingIntake
from maitred.partners.service import Caller
from maitred.runtime import Runtime
from maitred.tables import service as tables
from maitred.text import STORABLE_PATTERN
from maitred.venues import repository as venues
from maitred.web.bodies import json_bytes, request_body
from maitred.web.deps import authenticate_partner, get_runtime
from maitred.web.validation import validation_details

router = APIRouter(tags=["RMS"])
INTAKE = "reservations.intake"
_ACCEPTED = b'{"bookingId":%b,"venueId":%b,"status":"accepted","duplicate":%b}'


def _inline_schema(model: type[ReservationWebhook]) -> dict[str, Any]:
    """The model's JSON schema with its `$defs` inlined (the body is parsed by hand, so FastAPI
    does not register it; a dangling `$ref` would break the OpenAPI document)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


_WEBHOOK_BODY = {
    "required": True,
    "content": {"application/json": {"schema": _inline_schema(ReservationWebhook)}},
}


def _intake(runtime: Runtime) -> BookingIntake:
    """The process's booking intake, created on first use (it only needs the loop's writer)."""
    intake = runtime.extras.get(INTAKE)
    if not isinstance(intake, BookingIntake):
        intake = runtime.extras[INTAKE] = BookingIntake(
            runtime.batches, on_change=signals.followups.notify
        )
    return intake


def _unknown_venue() -> NotFound:
    return NotFound("Venue not found", details=field_details("venueId", "Unknown venue."))


async def rms_caller(request: Request) -> Caller:
    """The calling RMS partner: 401 without a valid key, 404 (never 403) for any other kind.

    `async` on purpose: the partner directory answers from memory, and a sync dependency would
    cost a thread-pool hop per request on the ingest hot path.
    """
    caller = authenticate_partner(request)
    if caller.kind != "rms":
        raise _unknown_venue()
    return caller


RmsCaller = Annotated[Caller, Depends(rms_caller)]


def parse_webhook(body: bytes) -> ReservationWebhook:
    """Validate a raw body that passed the body rule (JSON parsed by pydantic-core, no
    intermediate dicts); 400 naming the failing fields otherwise."""
    try:
        return ReservationWebhook.model_validate_json(body)
    except ValidationError as exc:
        raise BadRequest(details=validation_details(exc.errors())) from None


def plain_routes() -> list[BaseRoute]:
    """`POST /rms` as a plain Starlette route, served ahead of its FastAPI route (which stays
    registered for the OpenAPI document). The handler takes only the request, authenticates
    and parses by hand, so FastAPI's handler layer added nothing but its cost (about a tenth of
    the route's CPU in P1, three runs each way). Errors still go through the app's handlers."""
    return [Route("/rms", receive_reservation, methods=["POST"], name="receive_reservation_plain")]


@router.post(
    "/rms",
    response_model=Accepted,
    openapi_extra={"requestBody": _WEBHOOK_BODY},
    summary="Receive a reservation's full state",
)
async def receive_reservation(request: Request) -> Response:
    """Store the booking's full state; 200 only once it is committed (`duplicate` on a resend).

    What the change means for the POS (opening, linking or updating an order) is applied right
    after the commit by the worker (`orders.followups`); the change's mark is committed with
    it, so a 2xx never loses it.
    """
    # The body rule first, as on the /v1/pos routes (their body is read before their key).
    body = json_bytes(await request_body(request), request.headers.get("content-type"))
    # Called here rather than declared with Depends: FastAPI's dependency solving cost a
    # sixth of this route's CPU, the busiest of the hub.
    caller = await rms_caller(request)
    webhook = parse_webhook(body)
    receipt = await _intake(get_runtime(request)).receive(
        partner_id=caller.partner_id,
        external_venue_id=webhook.venueId,
        state=booking_state(webhook),
        correlation_id=getattr(request.state, "correlation_id", None),
    )
    request.state.venue_id = receipt.venue_id  # the edge trace carries it
    # The shape of Accepted, written directly (the two ids as JSON strings).
    answer = _ACCEPTED % (
        json.dumps(webhook.bookingId).encode(),
        json.dumps(webhook.venueId).encode(),
        b"true" if receipt.duplicate else b"false",
    )
    return Response(answer, media_type="application/json")


@router.get("/venues/{venueId}/pos-tables", response_model=PosTables)
async def pos_tables(
    venue_id: Annotated[
        str,
        Path(alias="venueId", max_length=200, json_schema_extra={"pattern": STORABLE_PATTERN}),
    ],
    request: Request,
    caller: RmsCaller,
) -> PosTables:
    """The POS tables of a venue the calling RMS is linked to, for table matching on its side:
    the tables the POS listed at the last fetch of the table registry (POS ids and names).
    A venue whose tables were never fetched is fetched now, waiting a few seconds at most
    (then the answer is what is stored). Any other venue (or a non-RMS caller) answers 404."""
    runtime = get_runtime(request)

    def resolve() -> str | None:
        with runtime.db.read_sessions() as session:
            return venues.resolve_external(
                session, partner_id=caller.partner_id, external_id=venue_id
            )

    ours = await run_in_threadpool(resolve)
    if ours is None:
        raise _unknown_venue()
    request.state.venue_id = ours
    await tables_flow.read_through(runtime, ours)

    def read() -> list[PosTable]:
        with runtime.db.read_sessions() as session:
            listed = tables.pos_tables(session, venue_id=ours)
        return [PosTable(id=t.id, name=t.name, area=t.area) for t in listed]

    rows = await run_in_threadpool(read)
    return PosTables(venueId=venue_id, tables=rows, count=len(rows))
