"""A partner stand-in for the demo: receives maitred's webhooks, checks their signatures and can
fail on purpose so retries are visible."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook


@dataclass
class Received:
    """One webhook as the partner saw it."""

    path: str
    webhook_id: str
    signature_ok: bool
    bearer_ok: bool
    body: dict[str, Any]
    answered: int


@dataclass
class Receiver:
    """Records what arrives; answers 503 `fail_next` times before succeeding."""

    tokens: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    fail_next: int = 0
    received: list[Received] = field(default_factory=list)

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_post("/webhooks/{name}", self._webhook)
        return app

    async def _webhook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        name = request.match_info["name"]
        partner = "demo-rms" if name == "pos-order" else "demo-pos"
        bearer_ok = request.headers.get("authorization") == f"Bearer {self.tokens[partner]}"
        signature_ok = False
        secret = self.secrets.get(partner)
        if secret:
            try:
                Webhook(secret).verify(raw, dict(request.headers))
                signature_ok = True
            except Exception:
                signature_ok = False
        status = 200
        if self.fail_next > 0:
            self.fail_next -= 1
            status = 503
        self.received.append(
            Received(
                path=request.path,
                webhook_id=request.headers.get("webhook-id", ""),
                signature_ok=signature_ok,
                bearer_ok=bearer_ok,
                body=json.loads(raw or b"{}"),
                answered=status,
            )
        )
        return web.json_response({"ok": status == 200}, status=status)
