"""Test helpers for the delivery engine: partners inserted directly, a real HTTP receiver on
127.0.0.1, a dispatcher running for the length of a block, and polling for a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from aiohttp import web
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from maitred.api.admin_deliveries import router as admin_router
from maitred.clock import now
from maitred.config import Settings
from maitred.deliveries import service
from maitred.deliveries.dispatcher import Dispatcher
from maitred.deliveries.models import Delivery, DeliveryAttempt
from maitred.partners.models import Partner
from maitred.runtime import Runtime
from maitred.security import hash_key, new_signing_secret, new_token
from tests.factories import router_app


@dataclass(frozen=True)
class PartnerCreds:
    """A partner as the test knows it: ids and plaintext credentials."""

    id: str
    webhook_url: str
    token: str
    signing_secret: str
    endpoint_id: int


async def add_partner(
    runtime: Runtime, *, webhook_url: str, partner_id: str = "rms-1"
) -> PartnerCreds:
    """Insert a partner (credentials encrypted as in production) and its webhook endpoint."""
    token, secret = new_token(), new_signing_secret()

    def job(session: Session) -> int:
        at = now()
        session.execute(
            insert(Partner).values(
                id=partner_id,
                kind="rms",
                name=partner_id,
                api_key_hash=hash_key("inbound-" + partner_id),
                token_encrypted=runtime.secrets.encrypt(token),
                webhook_url=webhook_url,
                signing_secret_encrypted=runtime.secrets.encrypt(secret),
                created_at=at,
                updated_at=at,
            )
        )
        return service.ensure_endpoint(
            session, partner_id=partner_id, name="webhook", url=webhook_url
        )

    endpoint_id = await runtime.writer.run(job)
    return PartnerCreds(partner_id, webhook_url, token, secret, endpoint_id)


async def enqueue(
    runtime: Runtime,
    partner: PartnerCreds,
    body: dict[str, Any],
    *,
    ordering_key: str | None = None,
    coalesce_key: str | None = None,
) -> int:
    """Queue one delivery to the partner's webhook; returns its id."""
    return await runtime.writer.run(
        lambda s: service.enqueue(
            s,
            endpoint_id=partner.endpoint_id,
            partner_id=partner.id,
            kind="test.event",
            url=partner.webhook_url,
            body=body,
            ordering_key=ordering_key,
            coalesce_key=coalesce_key,
            correlation_id="corr-test",
        )
    )


@dataclass
class Received:
    """One request the receiver got."""

    webhook_id: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()


Responder = Callable[[Received, int], Awaitable[web.StreamResponse]]


async def ok(_received: Received, _nth: int) -> web.StreamResponse:
    """Answer 200."""
    return web.Response(text="ok")


@dataclass
class Receiver:
    """A partner's webhook receiver on 127.0.0.1; `respond(received, nth)` decides each answer,
    where `nth` counts the requests carrying that webhook-id (1 for the first)."""

    respond: Responder = ok
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        record = Received(
            webhook_id=request.headers.get("webhook-id", ""),
            headers=dict(request.headers),
            body=await request.read(),
            at=time.monotonic(),
        )
        self.received.append(record)
        nth = sum(r.webhook_id == record.webhook_id for r in self.received)
        return await self.respond(record, nth)

    async def start(self) -> str:
        """Listen on a free loopback port; returns the webhook URL."""
        app = web.Application()
        app.router.add_route("*", "/hook", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self.url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def ids(self) -> list[str]:
        """The webhook-ids received, in arrival order."""
        return [r.webhook_id for r in self.received]


@asynccontextmanager
async def receiving(respond: Responder = ok) -> AsyncIterator[Receiver]:
    """A started receiver, stopped at the end of the block."""
    receiver = Receiver(respond=respond)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


@asynccontextmanager
async def dispatching(runtime: Runtime) -> AsyncIterator[Dispatcher]:
    """An in-process dispatcher for the length of the block."""
    dispatcher = Dispatcher(runtime, worker_id="test-worker")
    await dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()


@asynccontextmanager
async def runtime_with(settings: Settings, **overrides: Any) -> AsyncIterator[Runtime]:
    """A runtime on the test database with some settings changed."""
    runtime = Runtime.build(settings.model_copy(update=overrides))
    try:
        yield runtime
    finally:
        await runtime.close()


async def wait_until(
    condition: Callable[[], bool], *, timeout: float = 15.0, what: str = "condition"
) -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def delivery(runtime: Runtime, delivery_id: int) -> Delivery:
    """The delivery row as stored now."""
    with runtime.db.read_sessions() as session:
        found = session.get(Delivery, delivery_id)
        assert found is not None
        return found


def state_of(runtime: Runtime, delivery_id: int) -> str:
    """The delivery's current state."""
    return delivery(runtime, delivery_id).state


def attempts_of(runtime: Runtime, delivery_id: int) -> list[DeliveryAttempt]:
    """The delivery's attempts, oldest first."""
    with runtime.db.read_sessions() as session:
        return list(
            session.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id == delivery_id)
                .order_by(DeliveryAttempt.number, DeliveryAttempt.id)
            )
        )


@asynccontextmanager
async def admin_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on an app serving only the deliveries admin router, on `runtime`."""
    transport = httpx.ASGITransport(app=router_app(runtime, admin_router))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
        yield http
