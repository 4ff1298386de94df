"""Partner routes served at the app's door: a contract's plain routes (a fixed path, its own
handler taking the request) are dispatched before the framework's middleware stack, behind the
same edge (head and body limits, correlation id, trace) and answered with the same error
handlers. FastAPI's layers (error telemetry, body limit, exception and exit-stack middleware,
the router's matching) cost the busiest route more CPU than its durable write
(docs/decisions/0025); the routes stay registered in the router for the OpenAPI document and
for any method the direct table does not list.

A plain route with path parameters (the POS's order calls, `/v1/pos/{venueId}/order/{orderId}`)
is served directly too when no route the router would try before it has a parameter (so none
could match its paths first): it is matched by its own pattern, after a check of its fixed
prefix, and its endpoint gets the path parameters as the router would give them
(docs/decisions/0036)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from maitred.api.errors import error_response
from maitred.errors import MaitredError

log = structlog.get_logger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
ENDPOINT = "maitred.direct_endpoint"  # the scope key of a pattern route's matched endpoint


class DirectRoutes:
    """An ASGI app answering `(method, path)` → endpoint, errors through `app`'s handlers."""

    def __init__(self, app: FastAPI, endpoints: dict[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            endpoint = scope.get(ENDPOINT) or self.endpoints[(scope["method"], scope["path"])]
            response = await endpoint(request)
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


def direct_patterns(routes: list[BaseRoute], plain: list[BaseRoute]) -> tuple[Route, ...]:
    """The routes of `plain` with path parameters that may be matched ahead of the router:
    those that `routes` (the router's, in its order) reaches before any route of another kind
    or with parameters of its own, so no route tried before them can match their paths."""
    eligible = {id(route) for route in plain}
    found: list[Route] = []
    for route in routes:
        if not isinstance(route, Route):
            break
        if route.param_convertors:
            if id(route) not in eligible or not route.methods or "{" not in route.path:
                break
            found.append(route)
    return tuple(found)


def _prefix(route: Route) -> str:
    return route.path.split("{", 1)[0]


class HubApp(FastAPI):
    """FastAPI with a table of direct routes consulted first (`direct`: the edge-wrapped
    `DirectRoutes`, set by `create_app`), then the direct pattern routes (`direct_patterns`)."""

    direct: ASGIApp | None = None
    direct_keys: frozenset[tuple[str, str]] = frozenset()
    direct_patterns: tuple[Route, ...] = ()
    direct_prefixes: tuple[str, ...] = ()

    def serve_directly(self, patterns: tuple[Route, ...]) -> None:
        """Match `patterns` (see `direct_patterns`) ahead of the framework."""
        self.direct_patterns = patterns
        self.direct_prefixes = tuple({_prefix(route) for route in patterns})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.direct is not None
            and scope["type"] == "http"
            and ((scope["method"], scope["path"]) in self.direct_keys or self._matched(scope))
        ):
            scope["app"] = self
            await self.direct(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _matched(self, scope: Scope) -> bool:
        """Whether a direct pattern route takes the request; its endpoint and path parameters
        are then in `scope`, as the router would have put them."""
        if not scope["path"].startswith(self.direct_prefixes):
            return False
        for route in self.direct_patterns:
            match, child = route.matches(scope)
            if match is Match.FULL:
                scope.update(child)
                scope[ENDPOINT] = route.endpoint
                return True
            if match is Match.PARTIAL:  # the path, not the method: the router answers
                return False
        return False
