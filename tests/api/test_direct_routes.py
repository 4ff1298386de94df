"""Plain routes served ahead of the framework (decisions 25 and 36): which pattern routes may
be, and that a request they take reaches its endpoint with the router's path parameters."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from maitred.api.direct import DirectRoutes, HubApp, direct_endpoints, direct_patterns


async def _echo(request: Request) -> Response:
    return JSONResponse({"params": request.path_params})


def _plain() -> list[BaseRoute]:
    return [
        Route("/fixed", _echo, methods=["POST"]),
        Route("/v1/things/{thingId}", _echo, methods=["PUT"]),
        Route("/v1/things/{thingId}/close", _echo, methods=["PUT"]),
    ]


def test_a_pattern_route_is_direct_only_when_nothing_tried_before_it_has_parameters() -> None:
    plain = _plain()
    assert direct_patterns([*plain], plain) == (plain[1], plain[2])
    # A framework route with parameters ahead of them could match their paths first.
    other = Route("/v1/{anything}/{thingId}", _echo, methods=["PUT"])
    assert direct_patterns([plain[0], other, plain[1], plain[2]], plain) == ()
    # The router's own fixed routes ahead of them do not matter.
    fixed = Route("/openapi.json", _echo, methods=["GET"])
    assert direct_patterns([fixed, *plain], plain) == (plain[1], plain[2])


class _Counting:
    """A framework middleware noting the paths it saw (the direct routes skip the stack)."""

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(scope["path"])
        await self.app(scope, receive, send)


def _app() -> tuple[HubApp, list[str]]:
    app = HubApp()
    seen: list[str] = []
    app.add_middleware(_Counting, seen=seen)

    @app.put("/v1/things/{thingId}/open")
    async def framework(thingId: str) -> dict[str, Any]:
        return {"params": {"thingId": thingId}}

    plain = _plain()
    app.router.routes[:0] = plain
    app.direct = DirectRoutes(app, direct_endpoints(plain))
    app.direct_keys = frozenset(direct_endpoints(plain))
    app.serve_directly(direct_patterns(app.router.routes, plain))
    return app, seen


def test_a_request_a_pattern_route_takes_skips_the_framework_with_its_path_parameters() -> None:
    app, seen = _app()
    client = TestClient(app)
    assert client.put("/v1/things/t-1/close").json() == {"params": {"thingId": "t-1"}}
    assert client.put("/v1/things/t-2").json() == {"params": {"thingId": "t-2"}}
    assert client.post("/fixed").json() == {"params": {}}
    assert seen == []
    # Paths the pattern routes do not take go through the framework as before.
    assert client.put("/v1/things/t-3/open").json() == {"params": {"thingId": "t-3"}}
    # Right path, another method: the router answers (405), not the direct table.
    assert client.get("/v1/things/t-4").status_code == 405
    assert seen == ["/v1/things/t-3/open", "/v1/things/t-4"]
