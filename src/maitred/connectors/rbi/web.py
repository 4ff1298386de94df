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

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": RbiErrorBody} for status in (400, 401, 403, 404, 409, 503)
}


class RbiRoute(JsonBodyRoute):
    """A route answering its errors in the RBI contract's shape."""

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
                body = status_body(exc.status_code, exc.message, location=location)
                return _error(body, headers)

        return rendered


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
