"""Outbound table listings: `GET {base_url}/venue/{venueId}/tables` on the venue's POS and RMS.

spec: contracts §1.6.1 (POS: `[{id, name}]`, `area` when it has one) and §1.8.2 (RMS:
`[{id, name}]`), both with `Authorization: Bearer {token}`. Every call is traced, redacted.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, field_validator

from maitred.clock import now
from maitred.errors import PartnerError, PartnerRejected, PartnerUnavailable
from maitred.monitoring.service import TraceRecord
from maitred.security import redact_body, redact_headers
from maitred.tables.rules import TableRef

TIMEOUT_SECONDS = 5.0
MAX_BODY_BYTES = 1_000_000  # a venue lists tens of tables; anything near this is broken
MAX_TEXT = 200  # column width of ids, names and areas


class WireTable(BaseModel):
    """One entry of a partner's table listing, as the partner spells it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str = ""
    area: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        # spec says String; a numeric id is the same table, so accept it as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("name", mode="before")
    @classmethod
    def _name_or_blank(cls, value: object) -> object:
        return "" if value is None else value


_LISTING = TypeAdapter(list[WireTable])


@dataclass(frozen=True)
class ListingTarget:
    """Where and how to ask one partner for a venue's tables."""

    role: str
    partner_id: str
    base_url: str
    external_venue_id: str
    token: str | None
    venue_id: str  # ours, for the trace


@dataclass(frozen=True)
class Listing:
    """A fetch's outcome: the tables, or the error; always the trace."""

    tables: list[TableRef] | None
    trace: TraceRecord
    error: PartnerError | None = None


def listing_url(target: ListingTarget) -> str:
    """The partner's table-listing URL for the venue."""
    return f"{target.base_url.rstrip('/')}/venue/{target.external_venue_id}/tables"


async def fetch_tables(
    http: aiohttp.ClientSession, target: ListingTarget, *, trace_limit: int
) -> Listing:
    """Ask one partner for the venue's tables (5 s, no redirects); never raises."""
    url = listing_url(target)
    headers = {"Accept": "application/json"}
    if target.token:
        headers["Authorization"] = f"Bearer {target.token}"
    started, at = time.monotonic(), now()
    status: int | None = None
    body: bytes | None = None
    try:
        async with http.get(
            url,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
        ) as response:
            status = response.status
            body = await _read_capped(response)
        tables, error = _parse(status, body, target.role)
    except (TimeoutError, aiohttp.ClientError) as exc:
        tables, error = None, PartnerUnavailable(f"{target.role} tables: {type(exc).__name__}")
    trace = TraceRecord(
        at=at,
        direction="outbound",
        method="GET",
        url=url,
        status_code=status,
        duration_ms=(time.monotonic() - started) * 1000,
        partner_id=target.partner_id,
        venue_id=target.venue_id,
        request_headers=redact_headers(headers),
        response_body=redact_body(body, trace_limit),
        error=error.message if error is not None else None,
        outcome="" if error is None else "failed",
    )
    return Listing(tables, trace, error)


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise aiohttp.ClientPayloadError("table listing too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(
    status: int, body: bytes, role: str
) -> tuple[list[TableRef] | None, PartnerError | None]:
    if status == 429 or status >= 500:
        return None, PartnerUnavailable(f"{role} tables: HTTP {status}")
    if not 200 <= status < 300:
        return None, PartnerRejected(f"{role} tables: HTTP {status}")
    try:
        entries = _LISTING.validate_json(body)
    except ValidationError:
        return None, PartnerRejected(f"{role} tables: not a list of {{id, name}}")
    tables: dict[str, TableRef] = {}
    for entry in entries:
        table_id = _clean(entry.id)
        # Ids are the join key: one we cannot store whole is skipped, never truncated.
        if not table_id or len(table_id) > MAX_TEXT:
            continue
        area = _clean(entry.area or "")[:MAX_TEXT] or None
        # A listing repeating an id keeps its first entry.
        tables.setdefault(table_id, TableRef(table_id, _clean(entry.name)[:MAX_TEXT], area))
    return list(tables.values()), None


def _clean(text: str) -> str:
    return text.replace("\x00", "").strip()


async def fetch_all(
    http: aiohttp.ClientSession, targets: list[ListingTarget], *, trace_limit: int
) -> list[Listing]:
    """Fetch several listings concurrently, in the order given."""
    return list(
        await asyncio.gather(*(fetch_tables(http, t, trace_limit=trace_limit) for t in targets))
    )
