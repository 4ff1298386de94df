"""Helpers for the simulator tests: contract fixtures, a fake maitred, one-call requests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

FIXTURES = Path(__file__).parent / "fixtures"  # verbatim copies of ../spec/fixtures
HUB_KEY = "hub-key-for-sims"
POS_TOKEN = "pos-token-test"
RMS_TOKEN = "rms-token-test"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

Client = TestClient[web.Request, web.Application]


def fixture(name: str) -> Any:
    """A contract payload from the spec, verbatim."""
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Received:
    """One request the fake maitred received."""

    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class FakeHub:
    """Records every request; answers like maitred would (configurable status)."""

    received: list[Received] = field(default_factory=list)
    status: int = 200
    url: str = ""

    def app(self) -> web.Application:
        """The aiohttp app."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.received.append(
            Received(request.method, request.path, request.headers.get("Authorization"), body)
        )
        if self.status >= 400:
            return web.json_response({"error": {"code": self.status}}, status=self.status)
        if request.method == "POST" and request.path.endswith("/order"):
            return web.json_response({"id": f"hub-{len(self.received)}", "status": "open"})
        if request.path == "/rms":
            return web.json_response({"ok": True})
        order_id = request.path.split("/")[5]
        closing = request.path.endswith(("/close", "/void"))
        return web.json_response({"id": order_id, "status": "closed" if closing else "open"})

    def paths(self) -> list[str]:
        """`METHOD path` of everything received, in order."""
        return [f"{r.method} {r.path}" for r in self.received]


async def call(
    client: Client, method: str, path: str, body: Any = None, *, token: str | None = POS_TOKEN
) -> tuple[int, Any]:
    """One request, with maitred's Bearer `token` on partner paths; status and JSON body."""
    headers = {"Authorization": f"Bearer {token}"} if token and not path.startswith("/_sim") else {}
    async with client.request(method, path, json=body, headers=headers) as response:
        return response.status, await response.json()
