"""A fake maitred for the RBI simulators: records every request, serves the reads they make."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.connectors.rbi.support import fixture
from tests.deliveries.helpers import wait_until

HUB_KEY = "hub-key-for-rbi-sims"
POS_TOKEN = "rbi-pos-token-test"
CHANNEL_TOKEN = "channel-token-test"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ORDER_ID = "6f1c2a9e-3b7d-4f7e-9b1a-2d4c5e6f7a8b"


@dataclass
class Seen:
    """One request the fake maitred received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class RbiHub:
    """Records requests; answers callbacks and events 200, Get Order from `orders`, and the
    channel API with the contract's priced order."""

    received: list[Seen] = field(default_factory=list)
    orders: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    url: str = ""

    def app(self) -> web.Application:
        """The aiohttp app."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(Seen(request.method, request.path, headers, body))
        if self.status >= 400:
            return web.json_response({"status": self.status, "code": "X"}, status=self.status)
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts[:2] == ["v1", "orders"] and len(parts) == 3:
            if parts[2] not in self.orders:
                return web.json_response({"status": 404, "code": "NotFound"}, status=404)
            return web.json_response({"data": self.orders[parts[2]]})
        if parts[:3] == ["v1", "channel", "orders"]:
            return web.json_response(self._channel(request.method, parts[3:]))
        return web.json_response({"ok": True})

    def _channel(self, method: str, parts: list[str]) -> Any:
        order = copy.deepcopy(fixture("rbi_channel_order_priced_response.json"))
        if parts == ["place"]:
            return {"data": {"id": ORDER_ID, "callbackUrl": f"{self.url}/v1/channel/orders/x"}}
        if len(parts) == 2:
            order["data"]["status"] = {"commit": "COMMITTED", "fire": "PREPARING"}.get(
                parts[1], "CANCELED"
            )
        return order

    def to(self, path: str) -> list[Seen]:
        """What arrived at `path`."""
        return [seen for seen in self.received if seen.path == path]

    async def wait_for(self, path: str, count: int = 1) -> list[Seen]:
        """Wait until `count` requests arrived at `path`; return them."""
        await wait_until(lambda: len(self.to(path)) >= count, timeout=10, what=path)
        return self.to(path)
