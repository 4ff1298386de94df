"""Partner routes served at the app's door: a contract's plain routes (a fixed path, its own
handler taking the request) are dispatched before the framework's middleware stack, behind the
same edge (head and body limits, correlation id, trace) and answered with the same error
handlers. FastAPI's layers (error telemetry, body limit, exception and exit-stack middleware,
the router's matching) cost the busiest route more CPU than its durable write
(docs/decisions/0025); the routes stay registered in the router for the OpenAPI document and
for any method the direct table does not list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from maitred.api.errors import error_response
from maitred.errors import MaitredError

log = structlog.get_logger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]


class DirectRoutes:
    """An ASGI app answering `(method, path)` → endpoint, errors through `app`'s handlers."""

    def __init__(self, app: FastAPI, endpoints: dict[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.endpoints[(scope["method"], scope["path"])](request)
        except Exception as exc:
            response = await self._handled(request, exc)
        await response(scope, receive, send)

    async def _handled(self, request: Request, exc: Exception) -> Response:
        """The response the app's exception handler for `exc` gives (its most specific)."""
        handlers = self.app.exception_handlers
        for kind in type(exc).__mro__:
            handler = handlers.get(kind)
            if handler is not None:
                response = await handler(request, exc)  # type: ignore[misc]
                assert isinstance(response, Response)
                return response
        log.exception("unhandled error", error=type(exc).__name__)
        return error_response(MaitredError())


def direct_endpoints(routes: list[BaseRoute]) -> dict[tuple[str, str], Endpoint]:
    """The plain routes of fixed path among `routes`, by (method, path)."""
    table: dict[tuple[str, str], Endpoint] = {}
    for route in routes:
        if isinstance(route, Route) and not route.param_convertors and route.methods:
            for method in route.methods:
                if method != "HEAD":
                    table.setdefault((method, route.path), route.endpoint)
    return table


class HubApp(FastAPI):
    """FastAPI with a table of direct routes consulted first (`direct`: the edge-wrapped
    `DirectRoutes`, set by `create_app`)."""

    direct: ASGIApp | None = None
    direct_keys: frozenset[tuple[str, str]] = frozenset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.direct is not None
            and scope["type"] == "http"
            and (scope["method"], scope["path"]) in self.direct_keys
        ):
            scope["app"] = self
            await self.direct(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
