"""A venue linked to a POS and an RMS whose table listings are small HTTP servers on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.partners.models import Partner
from maitred.runtime import Runtime
from maitred.tables.models import PosTableRecord, RmsTableRecord, TableMapping
from maitred.venues.models import Venue, VenueLink

FIXTURES = Path("/work/shared/spec/fixtures")
VENUE = "venue-1"
POS_VENUE = "pos-venue-9"
RMS_VENUE = "abc-123"
POS_TOKEN = "pos-token-s3cr3t-0123456789"
RMS_TOKEN = "rms-token-s3cr3t-9876543210"


def spec_fixture(name: str) -> Any:
    """A contract payload, verbatim."""
    return json.loads((FIXTURES / name).read_text())


@dataclass
class TableServer:
    """A partner's `GET /venue/{venueId}/tables`, answering whatever `listing` holds."""

    venue_id: str
    listing: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0  # seconds before answering
    authorizations: list[str | None] = field(default_factory=list)
    server: TestServer | None = None

    async def _tables(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        await asyncio.sleep(self.delay)
        if request.match_info["venue_id"] != self.venue_id:
            return web.json_response({"error": "unknown venue"}, status=404)
        if self.status != 200:
            return web.json_response({"error": "down"}, status=self.status)
        return web.json_response(self.listing)

    def app(self) -> web.Application:
        """The aiohttp app serving the listing."""
        app = web.Application()
        app.router.add_get("/venue/{venue_id}/tables", self._tables)
        return app

    @property
    def base_url(self) -> str:
        """Where the server listens."""
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")


@pytest.fixture
async def pos_server() -> AsyncIterator[TableServer]:
    """The POS's table listing on 127.0.0.1."""
    fake = TableServer(
        POS_VENUE, [{"id": "P1", "name": "Table 1"}, {"id": "P2", "name": "Table 2"}]
    )
    fake.server = TestServer(fake.app(), host="127.0.0.1")
    await fake.server.start_server()
    yield fake
    await fake.server.close()


@pytest.fixture
async def rms_server() -> AsyncIterator[TableServer]:
    """The RMS's table listing on 127.0.0.1, starting from the contract's fixture."""
    fake = TableServer(RMS_VENUE, spec_fixture("rms_tables.json"))
    fake.server = TestServer(fake.app(), host="127.0.0.1")
    await fake.server.start_server()
    yield fake
    await fake.server.close()


async def seed_venue(runtime: Runtime, *, pos_url: str, rms_url: str) -> str:
    """Insert our venue, linked to both partners (tokens encrypted as maitred stores them)."""

    def seed(session: Session) -> None:
        at = now()
        for partner_id, kind, url, token in (
            ("pos-1", "pos", pos_url, POS_TOKEN),
            ("rms-1", "rms", rms_url, RMS_TOKEN),
        ):
            session.add(
                Partner(
                    id=partner_id,
                    kind=kind,
                    base_url=url,
                    token_encrypted=runtime.secrets.encrypt(token),
                    created_at=at,
                    updated_at=at,
                )
            )
        session.add(Venue(id=VENUE, name="Venue", created_at=at, updated_at=at))
        session.flush()
        for partner_id, role, external_id in (
            ("pos-1", "pos", POS_VENUE),
            ("rms-1", "rms", RMS_VENUE),
        ):
            session.add(
                VenueLink(venue_id=VENUE, partner_id=partner_id, role=role, external_id=external_id)
            )

    await runtime.writer.run(seed)
    return VENUE


@pytest.fixture
async def venue(runtime: Runtime, pos_server: TableServer, rms_server: TableServer) -> str:
    """Our venue, linked to the POS and RMS listing servers."""
    return await seed_venue(runtime, pos_url=pos_server.base_url, rms_url=rms_server.base_url)


def mapping_rows(runtime: Runtime, venue_id: str = VENUE) -> list[tuple[Any, ...]]:
    """Every mapping row as plain values (ids included), in a stable order."""
    with runtime.db.read_sessions() as session:
        rows = session.scalars(
            select(TableMapping).where(TableMapping.venue_id == venue_id).order_by(TableMapping.id)
        )
        return [
            (m.id, m.rms_table_id, m.pos_table_id, m.state, m.confidence, m.reason, m.stale)
            for m in rows
        ]


def table_rows(runtime: Runtime, venue_id: str = VENUE) -> list[tuple[Any, ...]]:
    """Every table row of both sides as plain values (without `last_seen_at`)."""
    with runtime.db.read_sessions() as session:
        pos = session.scalars(
            select(PosTableRecord)
            .where(PosTableRecord.venue_id == venue_id)
            .order_by(PosTableRecord.id)
        ).all()
        rms = session.scalars(
            select(RmsTableRecord)
            .where(RmsTableRecord.venue_id == venue_id)
            .order_by(RmsTableRecord.id)
        ).all()
    return [
        (side, t.id, t.external_id, t.name, t.area, t.present, t.gone_at)
        for side, rows in (("pos", pos), ("rms", rms))
        for t in rows
    ]


def active(runtime: Runtime, venue_id: str = VENUE) -> dict[str, tuple[str, str, bool]]:
    """RMS id → (POS id, state, stale) of the active mappings."""
    return {
        rms: (pos, state, stale)
        for _, rms, pos, state, _, _, stale in mapping_rows(runtime, venue_id)
        if state in ("auto", "confirmed")
    }
