"""`maitred tables …` against a real database and partner listings on loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiohttp import web
from typer.testing import CliRunner

from maitred.cli.tables import app
from maitred.cli.venues import app as venues_app
from maitred.config import Settings, get_settings
from maitred.runtime import Runtime
from tests.tables.conftest import (
    POS_VENUE,
    RMS_VENUE,
    TableServer,
    active,
    seed_venue,
    spec_fixture,
)

RMS_001 = "28c3ce8b-8c10-4a64-8099-f0dffcc549a8"
RMS_002 = "00f8c6da-3967-4e56-98b9-5ee063b05292"


@contextmanager
def _serve_in_thread(application: web.Application) -> Iterator[str]:
    """Serve an aiohttp app on 127.0.0.1 from its own thread (the CLI runs its own loop)."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(application)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.fixture
def cli_venue(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A seeded venue whose partners listen on loopback, and the CLI's environment."""
    for name in ("database_url", "secret_key", "data_dir", "allow_loopback"):
        monkeypatch.setenv(f"MAITRED_{name.upper()}", str(getattr(settings, name)))
    get_settings.cache_clear()  # the CLI reads settings once per process
    pos = TableServer(POS_VENUE, [{"id": "P1", "name": "Table 1"}, {"id": "P2", "name": "T2"}])
    rms = TableServer(RMS_VENUE, spec_fixture("rms_tables.json"))
    with _serve_in_thread(pos.app()) as pos_url, _serve_in_thread(rms.app()) as rms_url:

        async def seed() -> None:
            runtime = Runtime.build(settings)
            try:
                await seed_venue(runtime, pos_url=pos_url, rms_url=rms_url)
            finally:
                await runtime.close()

        asyncio.run(seed())
        yield settings
    get_settings.cache_clear()


def _active(settings: Settings) -> dict[str, tuple[str, str, bool]]:
    runtime = Runtime.build(settings)
    try:
        return active(runtime)
    finally:
        asyncio.run(runtime.close())


def test_refresh_map_show_and_unmap(cli_venue: Settings) -> None:
    runner = CliRunner()

    refreshed = runner.invoke(app, ["refresh", "venue-1"])
    mapped = runner.invoke(app, ["map", "venue-1", RMS_001, "P2"])
    shown = runner.invoke(app, ["show", "venue-1"])
    after_map = _active(cli_venue)
    unmapped = runner.invoke(app, ["unmap", "venue-1", RMS_001])

    assert refreshed.exit_code == 0, refreshed.output
    assert "Applied automatically" in refreshed.output
    assert mapped.exit_code == 0, mapped.output
    assert after_map == {RMS_001: ("P2", "confirmed", False)}
    assert shown.exit_code == 0
    assert "confirmed" in shown.output
    assert unmapped.exit_code == 0
    assert _active(cli_venue) == {}


def test_unknown_venue_exits_with_an_error(cli_venue: Settings) -> None:
    result = CliRunner().invoke(app, ["show", "nope"])

    assert result.exit_code == 1
    assert "nope" in result.output


def test_capabilities_show_what_the_refresh_proved_and_reset(cli_venue: Settings) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    assert runner.invoke(app, ["refresh", "venue-1"]).exit_code == 0

    shown = runner.invoke(venues_app, ["capabilities", "venue-1"])
    reset = runner.invoke(venues_app, ["capabilities", "venue-1", "--reset"])
    refused = runner.invoke(venues_app, ["capabilities", "venue-1", "--reset", "--feature", "x"])

    assert shown.exit_code == 0, shown.output
    table_rows = [line for line in shown.output.splitlines() if "tables.list" in line]
    assert len(table_rows) == 2
    assert all("supported" in line for line in table_rows)
    assert reset.exit_code == 0, reset.output
    assert "2 capability record(s) reset" in reset.output
    assert "supported" not in reset.output
    assert refused.exit_code == 2
    assert "feature" in refused.output
