"""Fetching a partner's table listing over real HTTP on loopback (the Mozrest adapter)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from maitred.connectors.mozrest import tables
from maitred.connectors.mozrest.adapters import MozrestPos
from maitred.errors import PartnerRejected, PartnerUnavailable
from maitred.partners.reach import Reach
from maitred.tables.rules import TableRef
from tests.tables.conftest import POS_TOKEN, POS_VENUE, TableServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An outbound session like the process's."""
    async with aiohttp.ClientSession() as session:
        yield session


def _target(base_url: str) -> Reach:
    return Reach("pos-1", "venue-1", base_url, POS_VENUE, POS_TOKEN, trace_limit=4096)


def _base(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def _serve(handler: Handler) -> TestServer:
    app = web.Application()
    app.router.add_get("/venue/{venue_id}/tables", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_listing_is_parsed_with_numeric_ids_and_repeats_dropped(
    http: aiohttp.ClientSession, pos_server: TableServer
) -> None:
    pos_server.listing = [
        {"id": 7, "name": " Table 7 ", "area": "Bar", "seats": 4},
        {"id": "7", "name": "again"},
        {"id": "", "name": "no id"},
        {"id": "8", "name": None},
    ]

    listing = await MozrestPos().list_tables(http, _target(pos_server.base_url))

    assert listing.error is None
    assert listing.tables == [TableRef("7", "Table 7", "Bar"), TableRef("8", "", None)]
    assert listing.trace.status_code == 200
    assert listing.trace.request_headers == {
        "Accept": "application/json",
        "Authorization": "[redacted]",
    }


async def test_malformed_listing_is_rejected(
    http: aiohttp.ClientSession, pos_server: TableServer
) -> None:
    pos_server.listing = [{"name": "no id"}]

    listing = await MozrestPos().list_tables(http, _target(pos_server.base_url))

    assert listing.tables is None
    assert isinstance(listing.error, PartnerRejected)
    assert listing.trace.outcome == "failed"


async def test_redirect_is_not_followed(http: aiohttp.ClientSession) -> None:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://127.0.0.1:9/elsewhere")

    server = await _serve(redirect)
    try:
        listing = await MozrestPos().list_tables(
            http, _target(str(server.make_url("")).rstrip("/"))
        )
    finally:
        await server.close()

    assert listing.trace.status_code == 302
    assert isinstance(listing.error, PartnerRejected)


async def test_slow_partner_times_out_as_unavailable(
    http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response([])

    monkeypatch.setattr(tables, "TIMEOUT_SECONDS", 0.2)
    server = await _serve(slow)
    try:
        listing = await MozrestPos().list_tables(
            http, _target(str(server.make_url("")).rstrip("/"))
        )
    finally:
        await server.close()

    assert isinstance(listing.error, PartnerUnavailable)
    assert listing.trace.status_code is None
    assert listing.trace.outcome == "failed"
