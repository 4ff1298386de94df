"""A seated booking held for an unmapped table goes through by itself once a mapping appears
(a refresh's automatic match, an operator's `tables map`), and an operator can retry one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from maitred.api import admin_bookings
from maitred.cli.reservations import app as bookings_app
from maitred.cli.tables import app as tables_app
from maitred.config import get_settings
from maitred.deliveries.models import Delivery
from maitred.flags.models import Flag
from maitred.flows import tables as tables_flow
from maitred.orders import followups, seating
from maitred.orders.models import PosOrder
from maitred.reservations import service as reservations
from maitred.reservations.models import Reservation
from maitred.reservations.rules import BookingState
from maitred.runtime import Runtime
from maitred.tables import service
from tests.conftest import ADMIN_TOKEN
from tests.factories import router_app
from tests.tables.conftest import POS_VENUE, RMS_VENUE, TableServer

RMS_001 = "28c3ce8b-8c10-4a64-8099-f0dffcc549a8"


async def _seat(runtime: Runtime, booking_id: str, tables: list[str]) -> None:
    """The RMS seats a booking (stored, then followed as the worker would)."""
    payload: dict[str, Any] = {
        "bookingId": booking_id,
        "venueId": "abc-123",
        "partySize": 2,
        "status": "seated",
        "tables": tables,
        "date": 1790000000,
    }
    state = BookingState(booking_id, "seated", 2, 1790000000, tables, None, payload)
    await runtime.writer.run(
        lambda s: reservations.receive_on(
            s.connection(),
            partner_id="rms-1",
            external_venue_id=RMS_VENUE,
            state=state,
            correlation_id=None,
        )
    )
    await _follow(runtime)


async def _follow(runtime: Runtime) -> int:
    return await runtime.writer.run(followups.apply_pending)


def _flags(runtime: Runtime, kind: str) -> list[Flag]:
    with runtime.db.read_sessions() as session:
        return list(session.scalars(select(Flag).where(Flag.kind == kind).order_by(Flag.id)))


def _creates(runtime: Runtime) -> list[Delivery]:
    with runtime.db.read_sessions() as session:
        return list(session.scalars(select(Delivery).where(Delivery.kind == "pos.create_order")))


def _pending(runtime: Runtime) -> list[str]:
    with runtime.db.read_sessions() as session:
        return list(
            session.scalars(select(Reservation.booking_id).where(Reservation.followup_pending))
        )


async def test_a_held_booking_goes_through_when_a_refresh_maps_its_table(
    runtime: Runtime, venue: str
) -> None:
    await _seat(runtime, "b-1", [RMS_001])  # the venue's tables were never fetched
    [held] = _flags(runtime, "booking.held")
    assert held.resolved_at is None
    assert _creates(runtime) == []

    report = await tables_flow.refresh(runtime, venue)  # P1 matches 001 by itself
    assert [m.rms_table_id for m in report.auto_applied if m.pos_table_id == "P1"] == [RMS_001]
    assert _pending(runtime) == ["b-1"]  # released by the hub, no re-send from the RMS
    assert await _follow(runtime) == 1

    [held] = _flags(runtime, "booking.held")
    assert held.resolved_at is not None
    assert held.resolved_by == "booking went through"
    [create] = _creates(runtime)
    assert create.url.endswith(f"/venue/{POS_VENUE}/orders")
    assert '"tables":["P1"]' in create.body


async def test_a_held_booking_goes_through_when_the_operator_maps_its_table(
    runtime: Runtime, venue: str, pos_server: TableServer
) -> None:
    pos_server.listing = [{"id": "A", "name": "Table 1"}, {"id": "B", "name": "T1"}]
    await tables_flow.refresh(runtime, venue)  # ambiguous: only suggestions
    await _seat(runtime, "b-2", [RMS_001])
    assert len(_flags(runtime, "booking.held")) == 1

    def map_table(session: Session) -> None:
        service.confirm(session, venue_id=venue, rms_table_id=RMS_001, pos_table_id="B")

    await runtime.writer.run(map_table)
    assert await _follow(runtime) == 1

    assert [f.resolved_at is not None for f in _flags(runtime, "booking.held")] == [True]
    [create] = _creates(runtime)
    assert '"tables":["B"]' in create.body


async def test_a_booking_still_unmapped_stays_held_after_a_release(
    runtime: Runtime, venue: str
) -> None:
    await tables_flow.refresh(runtime, venue)
    await _seat(runtime, "b-3", [RMS_001, "no-such-table"])

    def map_table(session: Session) -> None:
        service.confirm(session, venue_id=venue, rms_table_id=RMS_001, pos_table_id="P1")

    await runtime.writer.run(map_table)
    assert await _follow(runtime) == 1

    [held] = _flags(runtime, "booking.held")
    assert held.resolved_at is None
    assert held.data == {"missing": ["no-such-table"]}
    assert _creates(runtime) == []


@pytest.fixture
async def admin(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The bookings admin router on the test runtime."""
    transport = httpx.ASGITransport(app=router_app(runtime, admin_bookings.router))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hub", headers=headers
    ) as http:
        yield http


async def test_an_operator_retries_a_booking_whose_follow_up_failed(
    runtime: Runtime, venue: str, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await tables_flow.refresh(runtime, venue)
    real = seating.follow

    def broken(session: Session, reservation: Reservation, correlation_id: str | None) -> None:
        raise RuntimeError("the POS side broke")

    monkeypatch.setattr(seating, "follow", broken)
    await _seat(runtime, "b-4", [RMS_001])
    [failed] = _flags(runtime, "booking.followup_failed")
    assert _creates(runtime) == []
    monkeypatch.setattr(seating, "follow", real)  # the cause is fixed

    answer = await admin.post(f"/admin/venues/{venue}/bookings/b-4/retry")

    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "venueId": venue,
        "bookingId": "b-4",
        "status": "seated",
        "queued": True,
    }
    assert await _follow(runtime) == 1
    assert len(_creates(runtime)) == 1
    with runtime.db.read_sessions() as session:
        assert session.scalar(select(PosOrder.status)) == "requested"
    [failed] = _flags(runtime, "booking.followup_failed")
    assert failed.resolved_by == "booking went through"


async def test_retrying_an_unknown_booking_is_404(
    runtime: Runtime, venue: str, admin: httpx.AsyncClient
) -> None:
    answer = await admin.post(f"/admin/venues/{venue}/bookings/nobody/retry")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == 404
    assert _pending(runtime) == []


@pytest.fixture
def cli_env(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's environment pointing at the test database."""
    for name in ("database_url", "secret_key", "data_dir", "allow_loopback"):
        monkeypatch.setenv(f"MAITRED_{name.upper()}", str(getattr(runtime.settings, name)))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_tables_map_and_bookings_retry_from_the_command_line(
    runtime: Runtime, venue: str, pos_server: TableServer, cli_env: None
) -> None:
    pos_server.listing = [{"id": "A", "name": "Table 1"}, {"id": "B", "name": "T1"}]
    await tables_flow.refresh(runtime, venue)
    await _seat(runtime, "b-5", [RMS_001])
    runner = CliRunner()  # run from a thread: the CLI runs an event loop of its own

    mapped = await asyncio.to_thread(runner.invoke, tables_app, ["map", venue, RMS_001, "A"])
    assert mapped.exit_code == 0, mapped.output
    assert _pending(runtime) == ["b-5"]
    assert await _follow(runtime) == 1
    assert len(_creates(runtime)) == 1

    retried = await asyncio.to_thread(runner.invoke, bookings_app, ["retry", venue, "b-5"])
    unknown = await asyncio.to_thread(runner.invoke, bookings_app, ["retry", venue, "nobody"])

    assert retried.exit_code == 0, retried.output
    assert "b-5" in retried.output
    assert _pending(runtime) == ["b-5"]
    assert await _follow(runtime) == 1
    assert len(_creates(runtime)) == 1  # followed again as stored: nothing new to send
    assert unknown.exit_code == 1
    assert "nobody" in unknown.output
