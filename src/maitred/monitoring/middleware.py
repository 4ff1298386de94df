"""The edge every inbound request crosses: correlation id, body size limit (enforced on the
byte stream, before anything parses it) and the inbound trace."""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maitred.clock import now
from maitred.errors import BadRequest, MaitredError, PayloadTooLarge, field_details
from maitred.logs import TickLog
from maitred.monitoring.service import TraceRecord, TraceRecorder
from maitred.security import REDACTED, mentions_secret, redact_headers, redact_value
from maitred.text import UNSTORABLE

CORRELATION_HEADER = "x-correlation-id"
# One line per traced (partner) call, written per event-loop tick: the edge is the hot path.
calls_log = TickLog("maitred.calls")
UNTRACED_PREFIXES = ("/admin", "/metrics", "/healthz", "/docs", "/redoc", "/openapi.json")


class EdgeMiddleware:
    """Pure ASGI middleware (no buffering of the response beyond what the trace keeps)."""

    def __init__(self, app: ASGIApp, *, max_body: int, trace_limit: int) -> None:
        self.app = app
        self.max_body = max_body
        self.trace_limit = trace_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        correlation_id = _clean_correlation(headers.get(CORRELATION_HEADER))
        state: dict[str, Any] = scope.setdefault("state", {})
        state["correlation_id"] = correlation_id

        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await _reject(send, self._too_large(), correlation_id)
            self._trace(scope, headers, b"", 413, b"", started, correlation_id)
            return

        unstorable = _nul_in_url(scope)
        if unstorable is not None:  # PostgreSQL cannot even compare such text with its ids
            await _reject(send, unstorable, correlation_id)
            self._trace(scope, headers, b"", 400, b"", started, correlation_id)
            return

        body, too_large = await self._read_body(receive)
        if too_large:
            await _reject(send, self._too_large(), correlation_id)
            self._trace(scope, headers, body[: self.trace_limit], 413, b"", started, correlation_id)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # only http.disconnect can follow

        status: int | None = None
        response_body = bytearray()

        async def traced_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (CORRELATION_HEADER.encode(), correlation_id.encode()),
                ]
            elif message["type"] == "http.response.body" and len(response_body) < self.trace_limit:
                response_body.extend(message.get("body", b"")[: self.trace_limit])
            await send(message)

        try:
            await self.app(scope, replay, traced_send)
        finally:
            self._trace(scope, headers, body, status, bytes(response_body), started, correlation_id)

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        """The whole body, or (what was read, True) once it passes the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"".join(chunks), True
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"Request body exceeds {self.max_body} bytes")

    def _trace(
        self,
        scope: Scope,
        headers: dict[str, str],
        request_body: bytes,
        status: int | None,
        response_body: bytes,
        started: float,
        correlation_id: str,
    ) -> None:
        path: str = scope.get("path", "").replace("\x00", "")
        recorder: TraceRecorder | None = getattr(scope["app"].state, "recorder", None)
        if recorder is None or path.startswith(UNTRACED_PREFIXES):
            return
        state = scope.get("state", {})
        query = scope.get("query_string", b"").decode("latin-1").replace("\x00", "")
        duration_ms = (time.perf_counter() - started) * 1000
        method = scope.get("method", "GET")
        partner_id, venue_id = state.get("partner_id"), state.get("venue_id")
        client = scope.get("client")
        calls_log.info(
            "partner call",
            method=method,
            path=path,  # never the query string: it may carry a credential
            status=status,
            partner=partner_id,
            venue=venue_id,
            client=client[0] if client else None,
            duration_ms=round(duration_ms, 1),
            correlation_id=correlation_id,
        )
        recorder.record(
            TraceRecord(
                at=now(),
                direction="inbound",
                method=method,
                url=path + ("?" + query if query else ""),
                status_code=status,
                duration_ms=duration_ms,
                partner_id=partner_id,
                venue_id=venue_id,
                request_headers=redact_headers(headers),
                request_body=traced_body(request_body, self.trace_limit),
                response_body=traced_body(response_body, self.trace_limit),
                correlation_id=correlation_id,
            )
        )


def _nul_in_url(scope: Scope) -> BadRequest | None:
    """A 400 naming the path or the query when either holds a NUL character (`%00`)."""
    query: bytes = scope.get("query_string", b"")
    for part, found in (("path", "\x00" in scope.get("path", "")), ("query", b"%00" in query)):
        if found:
            return BadRequest(details=field_details(part, UNSTORABLE))
    return None


async def _reject(send: Send, error: MaitredError, correlation_id: str) -> None:
    """Answer `error` in the contract's shape before the app sees the request."""
    body = json.dumps(error.to_body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                (CORRELATION_HEADER.encode(), correlation_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# `"apiKey": "…"` in text that is not valid JSON (a truncated or malformed body); the closing
# quote is optional because truncation may have cut the value.
_SECRET_PAIR = re.compile(
    r'("[^"]*(?:authorization|token|secret|api[_-]?key|apikey|password|signature|cookie)[^"]*"'
    r'\s*:\s*)"(?:[^"\\]|\\.)*"?',
    re.IGNORECASE,
)


def traced_body(body: bytes, limit: int) -> str:
    """A body fit for a trace: secrets redacted, NUL bytes stripped, truncated to `limit`.

    Parsing JSON only when a secret-looking key appears keeps the common case cheap (this runs
    for every inbound call); a body that does not parse is redacted by pattern instead.
    """
    text = body.decode("utf-8", errors="replace")
    if mentions_secret(text):
        try:
            text = json.dumps(redact_value(json.loads(text)), separators=(",", ":"))
        except ValueError:
            text = _SECRET_PAIR.sub(rf'\1"{REDACTED}"', text)
    text = text.replace("\x00", "")
    if len(text) > limit:
        return text[:limit] + f"…[{len(text) - limit} more]"
    return text


# A random per-process prefix and a counter: unique like uuid4, without an os.urandom call per
# request (a syscall that releases the GIL, and winning it back from the writer thread costs up to
# a switch interval on the hot path).
_PROCESS_PREFIX = uuid.uuid4().hex[:16]
_SEQUENCE = itertools.count(1)


def new_correlation_id() -> str:
    """A fresh correlation id (32 hex characters)."""
    return f"{_PROCESS_PREFIX}{next(_SEQUENCE):016x}"


def _clean_correlation(value: str | None) -> str:
    if value and len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum():
        return value
    return new_correlation_id()
