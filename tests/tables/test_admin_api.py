"""The admin API over a venue's table mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import uvicorn

from maitred.api import admin_tables
from maitred.demo.stack import free_port
from maitred.runtime import Runtime
from tests.conftest import ADMIN_TOKEN
from tests.factories import router_app
from tests.tables.conftest import TableServer

RMS_001 = "28c3ce8b-8c10-4a64-8099-f0dffcc549a8"
RMS_002 = "00f8c6da-3967-4e56-98b9-5ee063b05292"


class Admin:
    """An HTTP client of the admin API served on loopback."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self._http = http
        self._base_url = base_url

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """Status and JSON body of one request (admin token unless headers say otherwise)."""
        headers = kwargs.pop("headers", {"Authorization": f"Bearer {ADMIN_TOKEN}"})
        async with self._http.request(
            method, self._base_url + path, headers=headers, **kwargs
        ) as response:
            return response.status, await response.json()


@pytest.fixture
async def admin(runtime: Runtime) -> AsyncIterator[Admin]:
    """The tables admin router on the test runtime, served by uvicorn on 127.0.0.1."""
    app = router_app(runtime, admin_tables.router)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    async with aiohttp.ClientSession() as http:
        yield Admin(http, f"http://127.0.0.1:{port}")
    server.should_exit = True
    await task


async def test_refresh_then_view_the_mapping(admin: Admin, venue: str) -> None:
    refreshed = await admin.call("POST", f"/admin/venues/{venue}/tables/refresh")
    status, view = await admin.call("GET", f"/admin/venues/{venue}/tables")

    assert refreshed[0] == 200
    assert len(refreshed[1]["autoApplied"]) == 2
    assert status == 200
    assert {(m["rmsTableId"], m["posTableId"]) for m in view["mappings"]} == {
        (RMS_001, "P1"),
        (RMS_002, "P2"),
    }
    assert view["unmappedRms"] == view["unmappedPos"] == []


async def test_put_confirms_and_delete_unmaps(admin: Admin, venue: str) -> None:
    await admin.call("POST", f"/admin/venues/{venue}/tables/refresh")
    path = f"/admin/venues/{venue}/table-mappings/{RMS_002}"

    put_status, put = await admin.call("PUT", path, json={"posTableId": "P1"})
    deleted_status, _ = await admin.call("DELETE", path)
    _, view = await admin.call("GET", f"/admin/venues/{venue}/tables")

    assert (put_status, put["state"], put["posTableId"]) == (200, "confirmed", "P1")
    assert deleted_status == 200
    assert view["mappings"] == []
    assert {t["id"] for t in view["unmappedRms"]} == {RMS_001, RMS_002}


async def test_unknown_venue_is_404_in_the_contract_shape(admin: Admin) -> None:
    status, body = await admin.call("GET", "/admin/venues/nope/tables")

    assert status == 404
    assert body["error"]["code"] == 404


async def test_unknown_table_is_404(admin: Admin, venue: str) -> None:
    await admin.call("POST", f"/admin/venues/{venue}/tables/refresh")

    put_status, put = await admin.call(
        "PUT", f"/admin/venues/{venue}/table-mappings/{RMS_001}", json={"posTableId": "P404"}
    )
    deleted_status, _ = await admin.call("DELETE", f"/admin/venues/{venue}/table-mappings/r404")

    assert (put_status, deleted_status) == (404, 404)
    assert "P404" in put["error"]["message"]


async def test_partner_down_answers_502(admin: Admin, venue: str, pos_server: TableServer) -> None:
    pos_server.status = 500

    status, body = await admin.call("POST", f"/admin/venues/{venue}/tables/refresh")

    assert status == 502
    assert body["error"]["code"] == 502


async def test_admin_token_is_required(admin: Admin, venue: str) -> None:
    status, _ = await admin.call("GET", f"/admin/venues/{venue}/tables", headers={})

    assert status == 401
