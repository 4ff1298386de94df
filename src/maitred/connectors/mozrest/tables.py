"""Outbound table listings: `GET {base_url}/venue/{venueId}/tables` on the venue's POS and RMS.

spec: contracts §1.6.1 (POS: `[{id, name}]`, `area` when it has one) and §1.8.2 (RMS:
`[{id, name}]`), both with `Authorization: Bearer {token}`. Every call is traced, redacted.
"""

from __future__ import annotations

from dataclasses import replace

import aiohttp
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, field_validator

from maitred.connectors import fetch
from maitred.errors import PartnerRejected
from maitred.partners.reach import Reach
from maitred.tables.ports import TableListing
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


def listing_url(reach: Reach) -> str:
    """The partner's table-listing URL for the venue."""
    return f"{reach.base_url.rstrip('/')}/venue/{reach.external_venue_id}/tables"


async def fetch_tables(http: aiohttp.ClientSession, reach: Reach, *, label: str) -> TableListing:
    """Ask one partner for the venue's tables (5 s, no redirects); never raises."""
    call = fetch.Call(
        partner_id=reach.partner_id,
        venue_id=reach.venue_id,
        token=reach.token,
        label=label,
        timeout=TIMEOUT_SECONDS,
        max_bytes=MAX_BODY_BYTES,
        trace_limit=reach.trace_limit,
        correlation_id=reach.correlation_id,
    )
    fetched = await fetch.get(http, listing_url(reach), call)
    if fetched.error is not None or fetched.body is None:
        return TableListing(None, fetched.trace, fetched.error, unsupported=fetched.unsupported)
    tables = _parse(fetched.body)
    if tables is None:
        error = PartnerRejected(f"{label}: not a list of {{id, name}}")
        trace = replace(fetched.trace, error=error.message, outcome="failed")
        return TableListing(None, trace, error)
    return TableListing(tables, fetched.trace)


def _parse(body: bytes) -> list[TableRef] | None:
    try:
        entries = _LISTING.validate_json(body)
    except ValidationError:
        return None
    tables: dict[str, TableRef] = {}
    for entry in entries:
        table_id = _clean(entry.id)
        # Ids are the join key: one we cannot store whole is skipped, never truncated.
        if not table_id or len(table_id) > MAX_TEXT:
            continue
        area = _clean(entry.area or "")[:MAX_TEXT] or None
        # A listing repeating an id keeps its first entry.
        tables.setdefault(table_id, TableRef(table_id, _clean(entry.name)[:MAX_TEXT], area))
    return list(tables.values())


def _clean(text: str) -> str:
    return text.replace("\x00", "").strip()
