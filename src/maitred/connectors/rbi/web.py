"""What every RBI route shares (contracts §2): routers whose errors answer in the contract's
shape, the partner-kind check, and the call's correlation id. The order routes (`routes`) and
the store routes (`store_routes`) are built from these, so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from maitred.connectors.rbi.errors import ErrorBody, RbiErrorBody, request_body, status_body
from maitred.errors import Forbidden, MaitredError, RateLimited
from maitred.partners.service import Caller
from maitred.web.bodies import JsonBodyRoute

# What the RBI routes answer in the contract's shape: their own errors, and the body rule's
# 415 and the rate limit's 429, raised inside the route too. The edge's 413 and 431 come before
# any route, in the hub's shape (`maitred.api.errors` documents those).
ERRORS: dict[int | str, dict[str, Any]] = {
    **{status: {"model": RbiErrorBody} for status in (400, 401, 403, 404, 409, 503)},
    415: {
        "model": RbiErrorBody,
        "description": "Content-Type not JSON, or a charset other than UTF-8",
    },
    429: {"model": RbiErrorBody, "description": "Too many requests; see `Retry-After`"},
}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RbiRoute(JsonBodyRoute):
    """A route answering its errors in the RBI contract's shape."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if not (self.methods or set()) & _WRITES:  # a read takes no body: no 415, as elsewhere
            self.responses.pop(415, None)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, its errors rendered as the contract spells them."""
        handler = super().get_route_handler()

        async def rendered(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return _error(request_body(exc.errors()))
            except MaitredError as exc:
                location = next(iter(exc.details), None)
                headers = None
                if isinstance(exc, RateLimited):
                    headers = {"Retry-After": str(exc.retry_after)}
                kind = _location_type(request, location) if location else "requestBody"
                message = _detail(exc, location) or exc.message
                body = status_body(exc.status_code, message, location=location, location_type=kind)
                return _error(body, headers)

        return rendered


def _detail(exc: MaitredError, location: str | None) -> str | None:
    """The first message the error's details give for `location` (more telling than the
    status's own: "Must be application/json (or absent)." over "Unsupported media type")."""
    for entry in exc.details.get(location, []) if location else []:
        for messages in entry.values():
            if messages:
                return str(messages[0])
    return None


def _location_type(request: Request, location: str) -> str:
    """Where the field an error names was sent: the path (`orderId` of `/v1/orders/{orderId}`),
    the query, a header (`Content-Type`), else the body."""
    if location in request.path_params:
        return "path"
    if location in request.query_params:
        return "query"
    if location in request.headers:
        return "header"
    return "requestBody"


def _error(body: ErrorBody, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body.model_dump(exclude_none=True), body.status, headers=headers)


def rbi_router(prefix: str, tag: str) -> APIRouter:
    """A router of RBI routes: the contract's error shape (answered and documented), and a
    body read as JSON whatever its Content-Type says."""
    return APIRouter(
        prefix=prefix,
        tags=[tag],
        route_class=RbiRoute,
        strict_content_type=False,
        responses=ERRORS,
    )


def require_kind(caller: Caller, kind: str) -> None:
    """Forbidden unless the calling partner is of `kind` (`channel` or `pos`)."""
    if caller.kind != kind:
        raise Forbidden(f"only a partner of kind {kind} may call this ({caller.kind} given)")


def correlation_id(request: Request) -> str | None:
    """The id the edge gave this call (its trace's), for the work it starts."""
    found: str | None = request.scope.get("state", {}).get("correlation_id")
    return found
