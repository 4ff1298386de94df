"""What both simulators share: error bodies, JSON with decimals, the call log, and the middleware
that checks maitred's Bearer token and injects inbound faults."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from maitred.clock import Clock, SystemClock
from maitred.simulators.faults import Faults

CONTROL_PREFIX = "/_sim"
BODY_LIMIT = 4000


@dataclass(frozen=True)
class SimConfig:
    """Settings every simulator takes; each simulator narrows the defaults."""

    hub: str = "http://127.0.0.1:8000"
    hub_key: str = ""
    token: str = "sim-token"  # noqa: S105 - a stand-in's well-known default
    venue: str = "venue-1"
    floor: str = "default"
    signing_secret: str | None = None
    clock: Clock = field(default_factory=SystemClock)
    quiet: bool = False


class ApiError(Exception):
    """An error answered with the contract's error body."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}


@dataclass
class Call:
    """One request maitred made to a simulator, as the simulator answered it."""

    method: str
    path: str
    body: Any
    authorized: bool
    at: str
    status: int | None = None


@dataclass
class SimCore:
    """The parts of a simulator every handler needs: name, token, faults, call log, clock."""

    name: str
    config: SimConfig
    faults: Faults = field(default_factory=Faults)
    calls: list[Call] = field(default_factory=list)

    def say(self, message: str) -> None:
        """Print one readable event line (flushed, so logs of subprocesses stay in order)."""
        if not self.config.quiet:
            print(f"[{self.name}-sim] {message}", flush=True)

    def now(self) -> datetime:
        """The simulator's clock, to the millisecond (what its ISO timestamps can say)."""
        moment = self.config.clock.now()
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def jsonable(value: Any) -> Any:
    """Decimals become JSON numbers; containers are walked."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON answer; Decimal money is written as a number."""
    return web.json_response(jsonable(data), status=status)


def error_response(
    status: int, message: str, details: dict[str, Any] | None = None
) -> web.Response:
    """The contract's error body: `{"error": {"code", "message", "details"}}`."""
    body = {"error": {"code": status, "message": message, "details": details or {}}}
    return web.json_response(body, status=status)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Read an ISO-8601 timestamp; a naive one is taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_body(raw: bytes) -> Any:
    """The body as JSON when it is JSON, else as (truncated) text, else None."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw[:BODY_LIMIT].decode("utf-8", "replace")


async def read_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400."""
    raw = await request.read()
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ApiError(400, "Body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "Body must be a JSON object")
    return body


def calls_json(core: SimCore) -> list[dict[str, Any]]:
    """The call log as JSON."""
    return [asdict(call) for call in core.calls]


def partner_middleware(core: SimCore) -> Middleware:
    """Record maitred's calls, inject inbound faults, check the Bearer token, render errors."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await _render_errors(request, handler)
        expected = f"Bearer {core.config.token}"
        call = Call(
            method=request.method,
            path=request.path_qs,
            body=parse_body(await request.read()),
            authorized=request.headers.get("Authorization") == expected,
            at=core.now().isoformat(),
        )
        core.calls.append(call)
        response = await _faulted(core, call) or await _authorized(call, request, handler)
        call.status = response.status
        core.say(f"<- {call.method} {call.path} answered {response.status}")
        return response

    return middleware


async def _faulted(core: SimCore, call: Call) -> web.StreamResponse | None:
    """Apply latency, hangs and injected failures; None when the call goes through."""
    faults = core.faults
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    if faults.timeout_count > 0:
        faults.timeout_count -= 1
        core.say(f"<- {call.method} {call.path}: hanging {faults.hang_seconds:g}s (fault)")
        await asyncio.sleep(faults.hang_seconds)
        return error_response(504, "Simulated timeout")
    if faults.fail_count > 0:
        faults.fail_count -= 1
        return error_response(faults.fail_status, "Simulated failure")
    return None


async def _authorized(call: Call, request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 unless the caller presented the simulator's token."""
    if not call.authorized:
        return error_response(401, "Missing or invalid API key")
    return await _render_errors(request, handler)


async def _render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn `ApiError` and aiohttp's own errors (404, 405) into the contract's error body."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.details)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason)


async def run_until_cancelled(app: web.Application, host: str, port: int, core: SimCore) -> None:
    """Serve `app` on host:port until the task is cancelled."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        core.say(
            f"listening on http://{host}:{port} venue={core.config.venue} hub={core.config.hub}"
        )
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        core.say("stopped")
