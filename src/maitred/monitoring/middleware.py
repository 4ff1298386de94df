"""The edge every inbound request crosses: the request head's size limit, correlation id, body
size limit (enforced on the byte stream, before anything parses it), bodies cut short by the
client, and the inbound trace."""

from __future__ import annotations

import enum
import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterable

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maitred.clock import now
from maitred.errors import (
    BadRequest,
    HeadersTooLarge,
    MaitredError,
    PayloadTooLarge,
    field_details,
)
from maitred.logs import TickLog
from maitred.monitoring.service import TraceRecord, TraceRecorder
from maitred.security import names_secret, redact_body, redact_headers
from maitred.text import UNSTORABLE

CORRELATION_HEADER = "x-correlation-id"
# The scope key under which the edge leaves the body it read, for a route to take as it is
# instead of reading it again through the replayed `receive` (`web.bodies.request_body`).
EDGE_BODY = "maitred.body"
# One line per traced (partner) call, written per event-loop tick: the edge is the hot path.
calls_log = TickLog("maitred.calls")
UNTRACED_PREFIXES = ("/admin", "/metrics", "/healthz", "/docs", "/redoc", "/openapi.json")
MEMO_SIZE = 512  # distinct header sets whose redacted form is kept
DISCONNECTED = "the client disconnected before sending the whole body"

UNTRACED = Counter(
    "maitred_untraced_requests",
    "Requests without a valid key over MAITRED_UNAUTHENTICATED_TRACE_RATE, counted, not traced",
)


class Body(enum.Enum):
    """How reading a request body ended."""

    COMPLETE = "complete"
    TOO_LARGE = "too large"
    CUT_SHORT = "cut short"  # the client hung up before sending what it announced


class EdgeMiddleware:
    """Pure ASGI middleware (no buffering of the response beyond what the trace keeps)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        trace_limit: int,
        max_head: int = 16_384,
        admit_unauthenticated: Callable[[], bool] = lambda: True,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.trace_limit = trace_limit
        self.max_head = max_head
        self.admit_unauthenticated = admit_unauthenticated
        # A partner's client sends the same headers request after request: their redacted form
        # (and its JSON) is kept per distinct set, keyed without any secret's value.
        self._redacted: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], str]] = {}
        self._secret_name: dict[str, bool] = {}

    def _redacted_headers(self, headers: dict[str, str]) -> tuple[dict[str, str], str]:
        """`redact_headers` of `headers` and its JSON, from the memo when seen before. The
        memo's key holds no secret (a secret-named header's value is left out of it, which is
        all its redaction depends on), and the memo is bounded."""
        secret_name = self._secret_name
        key_parts = []
        for name, value in headers.items():
            secret = secret_name.get(name)
            if secret is None:
                if len(secret_name) > MEMO_SIZE:
                    secret_name.clear()
                secret = secret_name[name] = names_secret(name)
            key_parts.append((name, "" if secret else value))
        key = tuple(key_parts)
        found = self._redacted.get(key)
        if found is None:
            if len(self._redacted) > MEMO_SIZE:
                self._redacted.clear()
            kept = redact_headers(headers, self.trace_limit)
            found = self._redacted[key] = (kept, json.dumps(kept, separators=(",", ":")))
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        query: bytes = scope.get("query_string", b"")
        target = scope.get("raw_path", b"") + (b"?" + query if query else b"")
        if head_size(target, scope["headers"]) > self.max_head:
            # `maitred serve` refuses such a head before building the request (api.serving):
            # this holds the limit under any other server, before anything reads the headers.
            await _reject(send, headers_too_large(self.max_head), new_correlation_id())
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        correlation_id = _clean_correlation(headers.get(CORRELATION_HEADER))
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        refusal = self._refusal(scope, headers)
        body, ending = (b"", Body.COMPLETE) if refusal else await self._read_body(receive)
        if ending is Body.TOO_LARGE:
            refusal = self._too_large()
        if refusal is not None:
            await _reject(send, refusal, correlation_id)
            trace_body = body[: self.trace_limit]
            self._trace(
                scope, headers, trace_body, refusal.status_code, b"", started, correlation_id
            )
            return
        if ending is Body.CUT_SHORT:  # never processed, and nobody is left to answer
            trace_body = body[: self.trace_limit]
            self._trace(
                scope, headers, trace_body, None, b"", started, correlation_id, DISCONNECTED
            )
            return
        await self._forward(scope, receive, send, headers, body, started, correlation_id)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> MaitredError | None:
        """The error a request gets before its body is read: a declared length over the limit,
        or a NUL in its URL (PostgreSQL cannot even compare such text with its ids)."""
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return self._too_large()
        return _nul_in_url(scope)

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[str, str],
        body: bytes,
        started: float,
        correlation_id: str,
    ) -> None:
        """Run the app on the body already read, answering with the correlation id and keeping
        what the trace needs of the response."""
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # only http.disconnect can follow

        scope[EDGE_BODY] = body
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

    async def _read_body(self, receive: Receive) -> tuple[bytes, Body]:
        """The body read and how reading it ended: complete, past the limit, or cut short (an
        `http.disconnect` before the last chunk: less than Content-Length announced)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), Body.CUT_SHORT
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"".join(chunks), Body.TOO_LARGE
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), Body.COMPLETE

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
        error: str | None = None,
    ) -> None:
        path: str = scope.get("path", "").replace("\x00", "")
        recorder: TraceRecorder | None = getattr(scope["app"].state, "recorder", None)
        if recorder is None or path.startswith(UNTRACED_PREFIXES):
            return
        state = scope.get("state", {})
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
        if partner_id is None and not self.admit_unauthenticated():
            UNTRACED.inc()  # decision 0008: a stranger's traffic cannot grow the table at will
            return
        query = scope.get("query_string", b"").decode("latin-1").replace("\x00", "")
        url = path + ("?" + query if query else "")
        request_headers, headers_json = self._redacted_headers(headers)
        recorder.record(
            TraceRecord(
                at=now(),
                direction="inbound",
                method=method,
                url=url[: self.trace_limit],
                status_code=status,
                duration_ms=duration_ms,
                partner_id=partner_id,
                venue_id=venue_id,
                request_headers=request_headers,
                headers_json=headers_json,
                request_body=(
                    redact_body(request_body, self.trace_limit)
                    if partner_id is not None or not request_body
                    else f"[{len(request_body)} bytes not kept: no valid key]"
                ),
                response_body=redact_body(response_body, self.trace_limit),
                error=error,
                correlation_id=correlation_id,
            )
        )


def head_size(target: bytes, headers: Iterable[tuple[bytes, bytes]]) -> int:
    """Bytes of a request head as counted against MAITRED_MAX_HEADER_BYTES: the request target,
    and each header's name and value with its `: ` and line end."""
    return len(target) + sum(len(name) + len(value) + 4 for name, value in headers)


def headers_too_large(limit: int) -> HeadersTooLarge:
    """The 431 for a request head over `limit` bytes."""
    message = f"The request line and headers exceed {limit} bytes."
    return HeadersTooLarge(details=field_details("headers", message))


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
