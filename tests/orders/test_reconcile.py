"""Reconciling with the POS: the real POS simulator on 127.0.0.1, maitred's runtime calling it.

The simulator's notifications to maitred go to a port nobody listens on, so every change made
on its floor is a call maitred missed, and only a reconcile can find it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import typer
from aiohttp import web
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from structlog.testing import capture_logs
from typer.testing import CliRunner
from yarl import URL

from maitred.capabilities import service as capabilities
from maitred.cli import orders as orders_cli
from maitred.clock import now
from maitred.config import Settings, get_settings
from maitred.deliveries.models import Delivery
from maitred.demo.stack import free_port
from maitred.errors import ServiceUnavailable
from maitred.flags.service import open_flags
from maitred.flows import reconcile
from maitred.monitoring.models import Trace
from maitred.monitoring.service import TraceRecorder
from maitred.orders.events import EVENT_KIND
from maitred.orders.models import Check
from maitred.orders.models import PosOrder as PosOrderRow
from maitred.partners.models import Partner
from maitred.runtime import Runtime
from maitred.simulators import pos_actions
from maitred.simulators.pos import POS_KEY, PosConfig, PosSim, build_app
from maitred.simulators.pos_state import Order
from maitred.simulators.pos_wire import pos_date
from maitred.venues.models import Venue, VenueLink
from maitred.worker import runner
from maitred.worker.runner import start_in_process
from tests.factories import fixture

VENUE = "venue-1"
POS_VENUE = "pos-venue-7"
RMS_VENUE = "rms-venue-7"
POS_TOKEN = "pos-token-reconcile-0123456789"


@dataclass
class RunningPos:
    """The POS simulator served on loopback."""

    sim: PosSim
    url: str


@pytest.fixture
async def pos() -> AsyncIterator[RunningPos]:
    """A POS simulator whose notifications to maitred all fail (missed calls)."""
    config = PosConfig(
        hub=f"http://127.0.0.1:{free_port()}",
        hub_key="unused",
        token=POS_TOKEN,
        venue=POS_VENUE,
        quiet=True,
    )
    app = build_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield RunningPos(app[POS_KEY], f"http://{host}:{port}")
    finally:
        await runner.cleanup()


async def seed(runtime: Runtime, pos_url: str) -> None:
    """Our venue, linked to the POS and to an RMS with a webhook URL."""

    def job(session: Session) -> None:
        at = now()
        session.add_all(
            [
                Partner(
                    id="pos-1",
                    kind="pos",
                    base_url=pos_url,
                    token_encrypted=runtime.secrets.encrypt(POS_TOKEN),
                    created_at=at,
                    updated_at=at,
                ),
                Partner(
                    id="rms-1",
                    kind="rms",
                    webhook_url=f"http://127.0.0.1:{free_port()}/pos-order",
                    created_at=at,
                    updated_at=at,
                ),
                Venue(id=VENUE, name="Venue", created_at=at, updated_at=at),
            ]
        )
        session.flush()
        session.add_all(
            [
                VenueLink(venue_id=VENUE, partner_id="pos-1", role="pos", external_id=POS_VENUE),
                VenueLink(venue_id=VENUE, partner_id="rms-1", role="rms", external_id=RMS_VENUE),
            ]
        )

    await runtime.writer.run(job)


@pytest.fixture
async def venue(runtime: Runtime, pos: RunningPos) -> str:
    """The venue, seeded against the running POS simulator."""
    await seed(runtime, pos.url)
    return VENUE


def walk_in(sim: PosSim, table: str = "T1", *items: tuple[str, int]) -> Order:
    """Open an order on the POS floor without telling maitred."""
    at = sim.core.now()
    order = sim.state.open_order(tables=[table], now=at, date=pos_date(at))
    order.party_size = 2
    order.checks[0].lines = sim.state.lines_for([(sku, qty, None) for sku, qty in items], [])
    return order


def pay(sim: PosSim, order: Order) -> None:
    """Close the order on the POS floor without telling maitred."""
    pos_actions.close_order(
        order, payment_method="card", tip=Decimal("2.00"), discount=Decimal(0), now=sim.core.now()
    )


def events(runtime: Runtime) -> list[dict[str, Any]]:
    """Every pos_order event enqueued for the RMS, oldest first."""
    with runtime.db.read_sessions() as session:
        bodies = session.scalars(
            select(Delivery.body).where(Delivery.kind == EVENT_KIND).order_by(Delivery.id)
        )
        return [json.loads(body) for body in bodies]


def order_rows(runtime: Runtime) -> list[tuple[str | None, str, str]]:
    """(POS id, source, status) of every stored order."""
    with runtime.db.read_sessions() as session:
        rows = session.execute(
            select(PosOrderRow.pos_order_id, PosOrderRow.source, PosOrderRow.status).order_by(
                PosOrderRow.pos_order_id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_missed_walk_in_is_created_and_announced(
    runtime: Runtime, venue: str, pos: RunningPos
) -> None:
    order = walk_in(pos.sim, "T3", ("PIZZA-001", 2))

    report = await reconcile.reconcile_venue(runtime, venue)

    assert (report.seen, report.created, report.updated, report.errors) == (1, 1, 0, [])
    assert order_rows(runtime) == [(order.id, "pos", "open")]
    [event] = events(runtime)
    assert event["type"] == "create"
    assert event["bookingId"] is None
    assert event["venueId"] == RMS_VENUE
    assert event["checkNumber"] == order.checks[0].number
    assert event["status"] == "OPEN"
    assert event["commercials"]["totalAmount"] == 25.0


async def test_missed_close_closes_the_order_with_a_close_update(
    runtime: Runtime, venue: str, pos: RunningPos
) -> None:
    order = walk_in(pos.sim, "T2", ("STEAK", 1))
    await reconcile.reconcile_venue(runtime, venue)
    pay(pos.sim, order)

    report = await reconcile.reconcile_venue(runtime, venue)

    assert (report.seen, report.created, report.updated) == (1, 0, 1)
    assert order_rows(runtime) == [(order.id, "pos", "closed")]
    created, closed = events(runtime)
    assert (created["type"], created["status"]) == ("create", "OPEN")
    assert (closed["type"], closed["status"]) == ("update", "CLOSE")
    assert closed["commercials"]["tip"] == 2.0
    assert closed["commercials"]["paymentType"] == "credit_card"
    assert closed["closedAt"] is not None


async def test_closed_walk_in_never_heard_of_is_created_closed(
    runtime: Runtime, venue: str, pos: RunningPos
) -> None:
    pay(pos.sim, walk_in(pos.sim, "T4", ("BEER", 3)))

    report = await reconcile.reconcile_venue(runtime, venue)

    assert (report.seen, report.created) == (1, 1)
    [event] = events(runtime)
    assert (event["type"], event["status"]) == ("create", "CLOSE")


async def test_missed_void_voids_the_order(runtime: Runtime, venue: str, pos: RunningPos) -> None:
    order = walk_in(pos.sim, "T5", ("WATER", 1))
    await reconcile.reconcile_venue(runtime, venue)
    pos_actions.void_order(order, pos.sim.core.now())

    report = await reconcile.reconcile_venue(runtime, venue)

    assert report.updated == 1
    assert order_rows(runtime) == [(order.id, "pos", "void")]
    assert [(e["type"], e["status"]) for e in events(runtime)] == [
        ("create", "OPEN"),
        ("void", "VOID"),
    ]


async def test_second_reconcile_changes_nothing(
    runtime: Runtime, venue: str, pos: RunningPos
) -> None:
    walk_in(pos.sim, "T1", ("PIZZA-001", 1))
    pay(pos.sim, walk_in(pos.sim, "T6", ("WINE-012", 1)))
    first = await reconcile.reconcile_venue(runtime, venue)
    stored = order_rows(runtime), check_rows(runtime), events(runtime)

    second = await reconcile.reconcile_venue(runtime, venue)

    assert (first.seen, first.created) == (2, 2)
    assert (second.seen, second.created, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert (order_rows(runtime), check_rows(runtime), events(runtime)) == stored
    assert second.correlation_id != first.correlation_id


def check_rows(runtime: Runtime) -> list[tuple[Any, ...]]:
    """Every stored check as plain values."""
    with runtime.db.read_sessions() as session:
        checks = session.scalars(select(Check).order_by(Check.check_number))
        return [
            (c.check_number, c.status, c.content_hash, c.announced, c.pos_updated_at, c.updated_at)
            for c in checks
        ]


async def test_order_maitred_opened_is_matched_by_hub_id(
    runtime: Runtime, venue: str, pos: RunningPos
) -> None:
    order = walk_in(pos.sim, "T7", ("ESPRESSO", 2))
    order.hub_id = "11111111-2222-3333-4444-555555555555"

    def requested(session: Session) -> None:
        at = now()
        session.add(
            PosOrderRow(
                id=order.hub_id,
                venue_id=VENUE,
                source="booking",
                status="requested",
                pos_tables=["T7"],
                needs_update=False,
                created_at=at,
                updated_at=at,
            )
        )

    await runtime.writer.run(requested)

    report = await reconcile.reconcile_venue(runtime, venue)

    assert (report.created, report.updated) == (0, 1)
    assert order_rows(runtime) == [(order.id, "booking", "open")]
    assert [e["type"] for e in events(runtime)] == ["create"]


async def test_pulls_are_traced_with_the_run_correlation_id(
    runtime: Runtime, venue: str, pos: RunningPos
) -> None:
    report = await reconcile.reconcile_venue(runtime, venue)

    assert report.correlation_id is not None
    assert report.correlation_id.startswith("reconcile-")
    with runtime.db.read_sessions() as session:
        traces = session.scalars(select(Trace).where(Trace.correlation_id == report.correlation_id))
        urls = sorted(t.url for t in traces)
    closed, opened = (URL(url).query for url in urls)
    assert sorted(closed) == ["from", "status", "until"]
    assert closed["status"] == "closed"
    assert dict(opened) == {"status": "open"}
    assert [call.authorized for call in pos.sim.core.calls] == [True, True]


async def test_unreachable_pos_is_reported_and_changes_nothing(runtime: Runtime) -> None:
    await seed(runtime, f"http://127.0.0.1:{free_port()}")

    [report] = await reconcile.reconcile_all(runtime)

    assert report.venue_id == VENUE
    assert report.seen == 0
    assert len(report.errors) == 2
    assert order_rows(runtime) == []


async def test_closed_orders_outside_the_window_are_not_pulled(
    runtime: Runtime, venue: str, pos: RunningPos
) -> None:
    old = walk_in(pos.sim, "T8", ("TIRAMISU", 1))
    pay(pos.sim, old)
    old.closed_at = now() - timedelta(hours=runtime.settings.reconcile_window_hours + 1)

    report = await reconcile.reconcile_venue(runtime, venue)

    assert report.seen == 0


@pytest.fixture
async def sweeping_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime whose worker sweeps every few hundredths of a second."""
    rt = Runtime.build(settings.model_copy(update={"reconcile_interval": 0.05}))
    try:
        yield rt
    finally:
        await rt.close()


async def test_worker_sweep_reconciles_every_pos_venue(
    sweeping_runtime: Runtime, pos: RunningPos
) -> None:
    runtime = sweeping_runtime
    await seed(runtime, pos.url)
    order = walk_in(pos.sim, "T9", ("BEER", 1))
    worker = await start_in_process(runtime, TraceRecorder(runtime.writer))
    try:
        for _ in range(200):
            if order_rows(runtime):
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()

    assert order_rows(runtime) == [(order.id, "pos", "open")]
    assert [e["type"] for e in events(runtime)] == ["create"]


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI reads its settings from the environment, like in production."""
    monkeypatch.setenv("MAITRED_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MAITRED_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MAITRED_SECRET_KEY", settings.secret_key or Fernet.generate_key().decode())
    monkeypatch.setenv("MAITRED_ALLOW_LOOPBACK", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_cli_reconciles_and_prints_the_report(
    runtime: Runtime, venue: str, pos: RunningPos, cli_env: None
) -> None:
    walk_in(pos.sim, "T10", ("STEAK", 2))
    app = typer.Typer()
    app.command()(orders_cli.reconcile_command)
    runner = CliRunner(env={"COLUMNS": "200"})

    # The CLI runs its own event loop; the simulator keeps serving on this one.
    result = await asyncio.to_thread(runner.invoke, app, [venue])

    assert result.exit_code == 0, result.output
    assert VENUE in result.output
    assert "reconcile-" in result.output
    assert len(order_rows(runtime)) == 1


async def test_an_open_order_closed_before_the_window_is_looked_up_and_closed(
    runtime: Runtime, venue: str, pos: RunningPos
) -> None:
    order = walk_in(pos.sim, "T11", ("STEAK", 1))
    await reconcile.reconcile_venue(runtime, venue)
    pay(pos.sim, order)  # while maitred heard nothing for longer than the window
    order.closed_at = now() - timedelta(hours=runtime.settings.reconcile_window_hours + 2)

    report = await reconcile.reconcile_venue(runtime, venue)

    assert (report.looked_up, report.updated, report.errors) == (1, 1, [])
    assert order_rows(runtime) == [(order.id, "pos", "closed")]
    assert [(e["type"], e["status"]) for e in events(runtime)] == [
        ("create", "OPEN"),
        ("update", "CLOSE"),
    ]
    assert capability_states(runtime) == {"orders.list": "supported", "orders.get": "supported"}


async def test_an_open_order_the_pos_no_longer_knows_is_flagged_not_changed(
    runtime: Runtime, venue: str, pos: RunningPos
) -> None:
    order = walk_in(pos.sim, "T12", ("BEER", 1))
    await reconcile.reconcile_venue(runtime, venue)
    del pos.sim.state.orders[order.id]

    report = await reconcile.reconcile_venue(runtime, venue)

    assert report.looked_up == 1
    assert any("HTTP 404" in error for error in report.errors)
    assert order_rows(runtime) == [(order.id, "pos", "open")]
    with runtime.db.read_sessions() as session:
        [flag] = [
            f for f in open_flags(session, venue_id=VENUE) if f.kind == "order.missing_in_pos"
        ]
    assert order.id in flag.message


@pytest.fixture
async def pos_without_lookups() -> AsyncIterator[tuple[str, list[str]]]:
    """A POS whose listing shows the contract's open order once, then nothing, and which
    answers 405 to a lookup of one order; yields its URL and the paths it was asked for."""
    asked: list[str] = []
    listed = [fixture("pos_order_open.json")]

    async def listing(request: web.Request) -> web.Response:
        asked.append(request.path_qs)
        if request.query.get("status") == "open" and listed:
            return web.json_response([listed.pop()])
        return web.json_response([])

    async def one(request: web.Request) -> web.Response:
        asked.append(request.path_qs)
        return web.json_response({"error": "not supported"}, status=405)

    app = web.Application()
    app.router.add_get(f"/venue/{POS_VENUE}/orders", listing)
    app.router.add_get(f"/venue/{POS_VENUE}/orders/{{orderId}}", one)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", asked
    finally:
        await runner.cleanup()


async def test_a_pos_without_order_lookup_is_asked_once(
    runtime: Runtime, pos_without_lookups: tuple[str, list[str]]
) -> None:
    url, asked = pos_without_lookups
    await seed(runtime, url)
    first = await reconcile.reconcile_venue(runtime, VENUE)
    second = await reconcile.reconcile_venue(runtime, VENUE)
    third = await reconcile.reconcile_venue(runtime, VENUE)

    assert (first.created, first.looked_up) == (1, 0)
    assert (second.looked_up, third.looked_up) == (1, 0)
    lookups = [path for path in asked if "?" not in path]
    assert lookups == [f"/venue/{POS_VENUE}/orders/62ebe5e7210c83a0f3adf9d1"]
    assert capability_states(runtime) == {"orders.list": "supported", "orders.get": "missing"}


def capability_states(runtime: Runtime) -> dict[str, str]:
    """The POS's recorded capabilities (feature: state), unknown ones left out."""
    with runtime.db.read_sessions() as session:
        report = capabilities.report(session, VENUE)
    return {c.feature: c.state for c in report.capabilities if c.state != "unknown"}


async def test_cli_lists_and_shows_the_orders_it_keeps(
    runtime: Runtime, venue: str, pos: RunningPos, cli_env: None
) -> None:
    order = walk_in(pos.sim, "T7", ("STEAK", 2))
    await reconcile.reconcile_venue(runtime, venue)
    runner = CliRunner(env={"COLUMNS": "200"})

    listed = await asyncio.to_thread(runner.invoke, orders_cli.app, ["list", venue])
    shown = await asyncio.to_thread(runner.invoke, orders_cli.app, ["show", venue, order.id])
    missing = await asyncio.to_thread(runner.invoke, orders_cli.app, ["show", venue, "nope"])

    assert listed.exit_code == 0, listed.output
    assert order.id in listed.output
    assert "T7" in listed.output
    assert shown.exit_code == 0, shown.output
    assert f"pos_order_id: {order.id}" in shown.output
    assert missing.exit_code == 1
    assert "nope" in missing.output


async def test_a_sweep_while_the_database_is_away_logs_one_line_and_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unit level: the sweep's first read finds the database away (OperationalError), or the
    writer reports it (ServiceUnavailable); the sweeper warns without a traceback and sweeps
    again at the next interval."""
    away: list[BaseException] = [
        OperationalError("SELECT 1", {}, ConnectionRefusedError("database is away")),
        ServiceUnavailable(),
    ]
    calls: list[int] = []

    async def sweep_while_away(_runtime: object) -> None:
        calls.append(1)
        raise away[len(calls) % 2]

    monkeypatch.setattr(runner, "sweep", sweep_while_away)
    runtime = SimpleNamespace(settings=SimpleNamespace(reconcile_interval=0.01))
    sweeper = runner.ReconcileSweeper(runtime)  # type: ignore[arg-type]
    with capture_logs() as logs:
        await sweeper.start()
        try:
            for _ in range(500):
                if len(calls) >= 4:
                    break
                await asyncio.sleep(0.01)
        finally:
            await sweeper.stop()
    assert len(calls) >= 4
    warnings = [(e["event"], e["log_level"]) for e in logs]
    assert set(warnings) == {("reconcile sweep postponed: database unavailable", "warning")}
    assert not any("exc_info" in e for e in logs)
