"""The app factory: builds the runtime in the lifespan and mounts every router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import BaseRoute

from maitred import __version__, boot
from maitred.api import docs, errors
from maitred.api.direct import DirectRoutes, HubApp, direct_endpoints, direct_patterns
from maitred.checkout import wait
from maitred.config import Settings, get_settings
from maitred.monitoring.middleware import EdgeMiddleware
from maitred.monitoring.service import TraceRecorder
from maitred.partners import contracts
from maitred.partners.service import PartnerDirectory
from maitred.runtime import Runtime
from maitred.web.ratelimit import RateLimits, TokenBuckets

DESCRIPTION = """\
maitred sits between reservation systems (RMS), points of sale (POS) and ordering channels.

Partner-facing endpoints follow the partner contracts exactly (paths, field names, types).
Every error answers `{"error": {"code", "message", "details"}}` with the failing field named.
Authenticate with `Authorization: Bearer <your key>`; `/admin` takes the operator's admin token.
"""


def create_app(settings: Settings | None = None, *, run_worker: bool = False) -> FastAPI:
    """A ready-to-serve app; resources are built when it starts, not here."""
    settings = settings or get_settings()
    boot.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.build(settings)
        recorder = TraceRecorder(
            runtime.writer,
            batches=runtime.batches,
            keep_unauthenticated=settings.unauthenticated_trace_keep,
        )
        app.state.runtime = runtime
        app.state.recorder = recorder
        app.state.partners = PartnerDirectory(
            runtime.db.read_sessions, settings.partner_cache_seconds
        )
        app.state.limits = RateLimits.from_settings(settings)
        recorder.start()
        await wait.start(settings.database_url)
        dispatcher = None
        if run_worker:
            from maitred.worker.runner import start_in_process

            dispatcher = await start_in_process(runtime, recorder)
        try:
            yield
        finally:
            if dispatcher is not None:
                await dispatcher.stop()
            await recorder.stop()
            await wait.stop()
            await runtime.close()

    app = HubApp(
        title="maitred",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by api.docs, with local assets
        redoc_url=None,
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
    )
    errors.install(app)
    plain = _mount_routers(app)
    errors.document_errors(app)
    docs.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    edge = {
        "max_body": settings.max_body_bytes,
        "trace_limit": settings.trace_body_limit,
        "max_head": settings.max_header_bytes,
        "admit_unauthenticated": _unauthenticated_traces(settings),
    }
    app.add_middleware(EdgeMiddleware, **edge)  # type: ignore[arg-type]
    endpoints = direct_endpoints(plain)
    if endpoints and not settings.opentelemetry:  # spans come from the framework's layers
        app.direct = EdgeMiddleware(DirectRoutes(app, endpoints), **edge)  # type: ignore[arg-type]
        app.direct_keys = frozenset(endpoints)
        app.serve_directly(direct_patterns(app.router.routes, plain))
    return app


def _unauthenticated_traces(settings: Settings) -> Callable[[], bool]:
    """Whether the next trace of a call without a valid key is kept: `rate` a second after a
    burst of ten seconds' worth, per process (docs/decisions/0008)."""
    rate = settings.unauthenticated_trace_rate
    bucket = TokenBuckets(rate, max(1, int(rate * 10)))
    return lambda: rate > 0 and bucket.take("unauthenticated") == 0


def _mount_routers(app: FastAPI) -> list[BaseRoute]:
    """Mount every router; the contracts' plain routes, which may be served directly."""
    from maitred.api import (
        admin,
        admin_bookings,
        admin_capabilities,
        admin_channel_orders,
        admin_deliveries,
        admin_flags,
        admin_monitoring,
        admin_orders,
        admin_tables,
    )

    # Each contract's partner-facing routes first, in the order it gives them (a plain route
    # it lists ahead of its routers matches before any FastAPI route).
    plain: list[BaseRoute] = []
    for contract in contracts.installed():
        for route in contract.routes():
            if isinstance(route, APIRouter):
                app.include_router(route)
            elif isinstance(route, BaseRoute):
                app.router.routes.append(route)
                plain.append(route)
            else:
                raise TypeError(f"contract {contract.name}: not a route: {route!r}")
    app.include_router(admin.router)
    app.include_router(admin_deliveries.router)
    app.include_router(admin_tables.router)
    app.include_router(admin_capabilities.router)
    app.include_router(admin_orders.router)
    app.include_router(admin_channel_orders.router)
    app.include_router(admin_monitoring.router)
    app.include_router(admin_flags.router)
    app.include_router(admin_bookings.router)
    return plain
