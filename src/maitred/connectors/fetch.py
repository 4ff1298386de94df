"""One traced, bounded GET to a partner's API: the read-throughs maitred makes outside the
delivery engine (table listings, order listings, one order).

Never raises for the partner's faults: a refused connection, a timeout, an oversized answer
or an error status all come back as a `PartnerError`, and every call comes back with its trace
(headers redacted, body truncated). No redirects are followed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp
from yarl import URL

from maitred.clock import now
from maitred.errors import PartnerError, PartnerRejected, PartnerUnavailable
from maitred.monitoring.service import TraceRecord
from maitred.security import redact_body, redact_headers

# Statuses that say "this API has no such call" rather than "not now" (decision 4).
UNSUPPORTED = frozenset({404, 405, 501})


@dataclass(frozen=True)
class Call:
    """Who is called and how: the partner, the venue (ours, for the trace), the limits."""

    partner_id: str
    venue_id: str | None
    token: str | None
    label: str  # names the call in error messages, e.g. "POS orders"
    timeout: float
    max_bytes: int
    trace_limit: int
    correlation_id: str | None = None


@dataclass(frozen=True)
class Fetched:
    """A GET's outcome: the status and body when an answer came, the error if any, the trace."""

    status: int | None
    body: bytes | None
    trace: TraceRecord
    error: PartnerError | None = None

    @property
    def unsupported(self) -> bool:
        """The partner answered that it has no such call (404, 405 or 501)."""
        return self.status in UNSUPPORTED


def status_error(status: int, label: str) -> PartnerError | None:
    """The error an HTTP status means: 429 and 5xx may pass, other non-2xx will not."""
    if status == 429 or status >= 500:
        return PartnerUnavailable(f"{label}: HTTP {status}")
    if not 200 <= status < 300:
        return PartnerRejected(f"{label}: HTTP {status}")
    return None


async def get(http: aiohttp.ClientSession, url: str | URL, call: Call) -> Fetched:
    """GET `url` with the partner's Bearer token; the answer, its error and its trace."""
    headers = {"Accept": "application/json"}
    if call.token:
        headers["Authorization"] = f"Bearer {call.token}"
    started, at = time.monotonic(), now()
    status: int | None = None
    body: bytes | None = None
    error: PartnerError | None
    try:
        async with http.get(
            url,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=call.timeout),
        ) as response:
            status = response.status
            body = await _read_capped(response, call.max_bytes, call.label)
        error = status_error(status, call.label)
    except (TimeoutError, aiohttp.ClientError) as exc:
        error = PartnerUnavailable(f"{call.label}: {_reason(exc)}")
    trace = TraceRecord(
        at=at,
        direction="outbound",
        method="GET",
        url=str(url),
        status_code=status,
        duration_ms=(time.monotonic() - started) * 1000,
        partner_id=call.partner_id,
        venue_id=call.venue_id,
        request_headers=redact_headers(headers),
        response_body=redact_body(body, call.trace_limit),
        error=error.message if error is not None else None,
        correlation_id=call.correlation_id,
        outcome="" if error is None else "failed",
    )
    return Fetched(status, body, trace, error)


def _reason(exc: BaseException) -> str:
    """The error's class; with the cause when no connection was made (a refused address names
    the address and the rule that refused it)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"{type(exc).__name__}: {exc.os_error}"
    return type(exc).__name__


async def _read_capped(response: aiohttp.ClientResponse, limit: int, label: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise aiohttp.ClientPayloadError(f"{label}: answer larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
