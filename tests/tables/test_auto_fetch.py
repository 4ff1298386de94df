"""The hub fetches both sides' tables by itself: when a venue is created or its links change,
on a schedule, and as a read-through when an RMS asks for the POS tables of a venue never
fetched (a short wait, then what is stored)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx2 as httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maitred.apply import service as apply_service
from maitred.apply.schemas import ApplyDocument
from maitred.config import Settings
from maitred.connectors.mozrest import rms_routes as rms
from maitred.flags.models import Flag
from maitred.flows import tables as auto
from maitred.partners.models import Partner
from maitred.partners.service import PartnerDirectory
from maitred.runtime import Runtime
from maitred.security import hash_key
from maitred.tables import schedule
from maitred.tables.models import TableSync
from maitred.worker.tables import TablesSweeper
from tests.deliveries.helpers import runtime_with, wait_until
from tests.factories import bearer, router_app
from tests.tables.conftest import (
    POS_TOKEN,
    POS_VENUE,
    RMS_TOKEN,
    RMS_VENUE,
    VENUE,
    TableServer,
    active,
    seed_venue,
)

RMS_001 = "28c3ce8b-8c10-4a64-8099-f0dffcc549a8"
RMS_002 = "00f8c6da-3967-4e56-98b9-5ee063b05292"
RMS_KEY = "rms-key-for-the-table-tests-0001"


def _document(pos: TableServer, rms_server: TableServer) -> ApplyDocument:
    """What an operator's file declares: two partners and a venue linking them."""
    return ApplyDocument.model_validate(
        {
            "partners": [
                {"id": "pos-1", "kind": "pos", "base_url": pos.base_url, "token": POS_TOKEN},
                {
                    "id": "rms-1",
                    "kind": "rms",
                    "api_key": RMS_KEY,
                    "base_url": rms_server.base_url,
                    "token": RMS_TOKEN,
                },
            ],
            "venues": [
                {
                    "id": VENUE,
                    "rms": {"partner": "rms-1", "venue_id": RMS_VENUE},
                    "pos": {"partner": "pos-1", "venue_id": POS_VENUE},
                }
            ],
        }
    )


async def _apply(runtime: Runtime, document: ApplyDocument) -> None:
    await runtime.writer.run(lambda s: apply_service.apply_document(s, document, runtime.secrets))


def _sync(runtime: Runtime) -> TableSync | None:
    with runtime.db.read_sessions() as session:
        return session.get(TableSync, VENUE)


def _open_flags(runtime: Runtime, kind: str) -> list[Flag]:
    with runtime.db.read_sessions() as session:
        statement = select(Flag).where(Flag.kind == kind, Flag.resolved_at.is_(None))
        return list(session.scalars(statement))


async def test_a_new_venue_is_due_at_once_and_fetched_with_its_matches(
    runtime: Runtime, pos_server: TableServer, rms_server: TableServer
) -> None:
    await _apply(runtime, _document(pos_server, rms_server))
    sync = _sync(runtime)
    assert sync is not None
    assert sync.refreshed_at is None

    fetched = await auto.refresh_due(runtime)

    assert fetched == [auto.Fetched(VENUE)]
    assert active(runtime) == {RMS_001: ("P1", "auto", False), RMS_002: ("P2", "auto", False)}
    sync = _sync(runtime)
    assert sync is not None
    assert sync.refreshed_at is not None
    assert sync.due_at is not None
    interval = timedelta(seconds=runtime.settings.tables_refresh_interval)
    assert sync.due_at - sync.refreshed_at == interval
    assert await auto.refresh_due(runtime) == []  # not due again before the interval


async def test_the_worker_fetches_by_itself_and_again_when_the_links_change(
    settings: Settings, pos_server: TableServer, rms_server: TableServer
) -> None:
    async with runtime_with(settings, tables_refresh_interval=0) as runtime:
        sweeper = TablesSweeper(runtime)
        await sweeper.start()
        try:
            await _apply(runtime, _document(pos_server, rms_server))
            await wait_until(lambda: len(active(runtime)) == 2, what="the automatic matches")
            assert len(pos_server.authorizations) == 1

            sync = _sync(runtime)
            assert sync is not None
            assert sync.due_at is None
            await _apply(runtime, _document(pos_server, rms_server))  # the same file again
            sync = _sync(runtime)
            assert sync is not None
            assert sync.due_at is None

            await _apply_new_token(runtime, pos_server, rms_server)
            await wait_until(lambda: len(pos_server.authorizations) == 2, what="a second fetch")
            assert pos_server.authorizations[-1] == "Bearer pos-token-the-second-one"
        finally:
            await sweeper.stop()


async def _apply_new_token(runtime: Runtime, pos: TableServer, rms_server: TableServer) -> None:
    document = _document(pos, rms_server)
    document.partners[0].token = "pos-token-the-second-one"
    await _apply(runtime, document)


async def test_the_schedule_fetches_again_after_its_interval(
    settings: Settings, pos_server: TableServer, rms_server: TableServer
) -> None:
    async with runtime_with(settings, tables_refresh_interval=0.2) as runtime:
        sweeper = TablesSweeper(runtime)
        await sweeper.start()
        try:
            await _apply(runtime, _document(pos_server, rms_server))
            await wait_until(lambda: len(active(runtime)) == 2, what="the first fetch")
            pos_server.listing.append({"id": "P3", "name": "Table 3"})
            rms_server.listing.append({"id": "rms-3", "name": "003"})
            await wait_until(lambda: "rms-3" in active(runtime), what="a scheduled fetch")
            assert active(runtime)["rms-3"] == ("P3", "auto", False)
        finally:
            await sweeper.stop()


async def test_a_failing_fetch_is_retried_later_flagged_and_settled_by_a_success(
    runtime: Runtime, pos_server: TableServer, rms_server: TableServer
) -> None:
    pos_server.status = 503
    await _apply(runtime, _document(pos_server, rms_server))

    [failed] = await auto.refresh_due(runtime)

    assert failed.error is not None
    assert "503" in failed.error
    sync = _sync(runtime)
    assert sync is not None
    assert sync.failures == 1
    assert sync.due_at is not None
    assert sync.attempted_at is not None
    assert sync.due_at - sync.attempted_at == timedelta(seconds=schedule.FIRST_RETRY_SECONDS)
    assert await auto.refresh_due(runtime) == []  # waits for its back-off
    assert _open_flags(runtime, "tables.refresh_failed") == []  # one failure: not yet flagged

    for _ in range(schedule.FLAG_AFTER_FAILURES - 1):
        await _make_due(runtime)
        await auto.refresh_due(runtime)
    [flag] = _open_flags(runtime, "tables.refresh_failed")
    assert "503" in flag.message

    pos_server.status = 200
    await _make_due(runtime)
    assert await auto.refresh_due(runtime) == [auto.Fetched(VENUE)]
    assert _open_flags(runtime, "tables.refresh_failed") == []


async def _make_due(runtime: Runtime) -> None:
    """Let the back-off pass (the schedule reads `due_at` against the clock)."""
    sync = _sync(runtime)
    assert sync is not None
    await runtime.writer.run(
        lambda s: s.execute(update(TableSync).values(due_at=sync.attempted_at))
    )


def test_the_back_off_doubles_up_to_its_cap() -> None:
    delays = [schedule.retry_delay(n, 3600) for n in range(1, 10)]
    assert delays[:4] == [5, 10, 20, 40]
    assert max(delays) == schedule.MAX_RETRY_SECONDS
    assert schedule.retry_delay(9, 30) == 30  # never later than the schedule itself


@pytest.fixture
async def rms_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The RMS-facing routes on the test runtime (no worker: only the read-through fetches)."""
    app = router_app(runtime, rms.router)
    app.state.partners = PartnerDirectory(runtime.db.read_sessions, 0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
        yield http


async def _seed_with_key(runtime: Runtime, pos: TableServer, rms_server: TableServer) -> None:
    await seed_venue(runtime, pos_url=pos.base_url, rms_url=rms_server.base_url)

    def key(session: Session) -> None:
        session.execute(
            update(Partner).where(Partner.id == "rms-1").values(api_key_hash=hash_key(RMS_KEY))
        )

    await runtime.writer.run(key)


async def test_pos_tables_of_a_venue_never_fetched_are_read_through(
    runtime: Runtime,
    pos_server: TableServer,
    rms_server: TableServer,
    rms_client: httpx.AsyncClient,
) -> None:
    await _seed_with_key(runtime, pos_server, rms_server)  # written behind the hub's back

    answer = await rms_client.get(f"/venues/{RMS_VENUE}/pos-tables", headers=bearer(RMS_KEY))
    again = await rms_client.get(f"/venues/{RMS_VENUE}/pos-tables", headers=bearer(RMS_KEY))

    assert answer.status_code == 200, answer.text
    assert [t["id"] for t in answer.json()["tables"]] == ["P1", "P2"]
    assert again.json() == answer.json()
    assert len(pos_server.authorizations) == 1  # fetched once, then answered from storage
    assert len(active(runtime)) == 2  # and matched, as any refresh


async def test_a_slow_read_through_answers_what_is_stored_and_finishes_later(
    runtime: Runtime,
    pos_server: TableServer,
    rms_server: TableServer,
    rms_client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auto, "READ_THROUGH_TIMEOUT", 0.2)
    pos_server.delay = 1.0
    await _seed_with_key(runtime, pos_server, rms_server)

    answer = await rms_client.get(f"/venues/{RMS_VENUE}/pos-tables", headers=bearer(RMS_KEY))

    assert answer.status_code == 200, answer.text
    assert answer.json()["tables"] == []  # the fallback: nothing stored yet
    await wait_until(lambda: len(active(runtime)) == 2, what="the fetch to finish by itself")
    later = await rms_client.get(f"/venues/{RMS_VENUE}/pos-tables", headers=bearer(RMS_KEY))
    assert [t["id"] for t in later.json()["tables"]] == ["P1", "P2"]
    assert len(pos_server.authorizations) == 1


async def test_a_failing_read_through_is_not_retried_on_every_request(
    runtime: Runtime,
    pos_server: TableServer,
    rms_server: TableServer,
    rms_client: httpx.AsyncClient,
) -> None:
    pos_server.status = 500
    await _seed_with_key(runtime, pos_server, rms_server)

    first = await rms_client.get(f"/venues/{RMS_VENUE}/pos-tables", headers=bearer(RMS_KEY))
    second = await rms_client.get(f"/venues/{RMS_VENUE}/pos-tables", headers=bearer(RMS_KEY))

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["tables"] == second.json()["tables"] == []
    assert len(pos_server.authorizations) == 1  # the second read waits for the back-off
    sync = _sync(runtime)
    assert sync is not None
    assert sync.failures == 1
