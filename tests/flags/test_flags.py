"""Flags: the ones a later event settles are resolved by it; an operator resolves or
acknowledges the others, from the admin API or `maitred flags`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx2 as httpx
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from maitred.api import admin_flags
from maitred.cli.flags import app as flags_app
from maitred.config import Settings, get_settings
from maitred.connectors.mozrest.pos_mapping import order_report
from maitred.connectors.mozrest.pos_wire import PosOrder as WireOrder
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.flags.models import Flag
from maitred.orders import pos_calls
from maitred.orders.service import PosChange, apply_pos_order
from maitred.runtime import Runtime
from maitred.security import SecretBox
from tests.conftest import ADMIN_TOKEN
from tests.factories import router_app, seed_world


@pytest.fixture
async def world(runtime: Runtime) -> Runtime:
    """The small world (venue v1: RMS rms-a + POS pos-1) on the test runtime."""
    box = SecretBox(runtime.settings.secret_key or "")
    await runtime.writer.run(lambda s: seed_world(s, box))
    return runtime


@pytest.fixture
async def admin(world: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The flags admin router on the test runtime."""
    transport = httpx.ASGITransport(app=router_app(world, admin_flags.router))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hub", headers=headers
    ) as http:
        yield http


async def _raise(runtime: Runtime, kind: str, subject: str, message: str = "look") -> int:
    def job(session: Session) -> int:
        return flags.raise_flag(session, venue_id="v1", kind=kind, subject=subject, message=message)

    return await runtime.writer.run(job)


def _flag(runtime: Runtime, flag_id: int) -> Flag:
    with runtime.db.read_sessions() as session:
        found = session.get(Flag, flag_id)
        assert found is not None
        return found


async def test_the_capability_reset_settles_pos_update_unsupported(world: Runtime) -> None:
    flag_id = await _raise(world, kinds.POS_UPDATE_UNSUPPORTED, "venue:v1")
    other = await _raise(world, kinds.ORDER_SKU_REJECTED, "order:o-1")

    def reset(session: Session) -> tuple[int, int]:
        return pos_calls.reset_capability(session, venue_id="v1", feature="orders.update")

    await world.writer.run(reset)

    settled = _flag(world, flag_id)
    assert settled.resolved_at is not None
    assert settled.resolved_by == "orders.update capability reset"
    assert _flag(world, other).resolved_at is None  # only an operator settles that one


async def test_an_order_ending_settles_the_flags_it_made_moot(world: Runtime) -> None:
    opened = WireOrder.model_validate(
        {"id": "pos-o-1", "status": "open", "tables": ["T1"], "checks": []}
    )

    def open_order(session: Session) -> str:
        change = PosChange(venue_id="v1", action="create", payload=order_report(opened))
        return apply_pos_order(session, change).order_id

    order_id = await world.writer.run(open_order)
    held = await _raise(world, kinds.ORDER_CHANGE_HELD, f"order:{order_id}")
    missing = await _raise(world, kinds.ORDER_MISSING_IN_POS, f"order:{order_id}")
    refused = await _raise(world, kinds.ORDER_SKU_REJECTED, f"order:{order_id}")
    closed = opened.model_copy(update={"status": "closed", "updatedAt": datetime.now(UTC)})

    def close_order(session: Session) -> None:
        change = PosChange(
            venue_id="v1", action="close", payload=order_report(closed), order_ref=order_id
        )
        apply_pos_order(session, change)

    await world.writer.run(close_order)

    for flag_id in (held, missing):
        assert _flag(world, flag_id).resolved_by == "the POS order was closed"
    assert _flag(world, refused).resolved_at is None


async def test_an_operator_resolves_a_flag_with_a_note(
    world: Runtime, admin: httpx.AsyncClient
) -> None:
    flag_id = await _raise(world, kinds.ORDER_SKU_REJECTED, "order:o-1")

    answer = await admin.post(f"/admin/flags/{flag_id}/resolve", json={"note": "rang up by hand"})
    again = await admin.post(f"/admin/flags/{flag_id}/resolve")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["resolvedBy"] == "operator: rang up by hand"
    assert body["settledBy"] is None  # the kind no event settles
    assert again.status_code == 200
    assert again.json()["resolvedAt"] == body["resolvedAt"]  # resolving twice changes nothing
    listed = (await admin.get("/admin/flags")).json()["items"]
    assert flag_id not in [f["id"] for f in listed]
    every = (await admin.get("/admin/flags?include_resolved=true")).json()["items"]
    assert flag_id in [f["id"] for f in every]


async def test_an_acknowledged_flag_stays_open_until_its_news_changes(
    world: Runtime, admin: httpx.AsyncClient
) -> None:
    flag_id = await _raise(world, kinds.BOOKING_HELD, "booking:b-1", "held: table 7")

    acked = await admin.post(f"/admin/flags/{flag_id}/ack")
    unseen = (await admin.get("/admin/flags?acknowledged=false")).json()["items"]
    await _raise(world, kinds.BOOKING_HELD, "booking:b-1", "held: table 7")  # same news
    still_seen = _flag(world, flag_id).acknowledged_at
    await _raise(world, kinds.BOOKING_HELD, "booking:b-1", "held: tables 7 and 8")

    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledgedAt"] is not None
    assert acked.json()["resolvedAt"] is None
    assert acked.json()["settledBy"] == kinds.KINDS[kinds.BOOKING_HELD].settled_by
    assert unseen == []
    assert still_seen is not None
    assert _flag(world, flag_id).acknowledged_at is None


async def test_unknown_flags_are_404(world: Runtime, admin: httpx.AsyncClient) -> None:
    for path in ("/admin/flags/99999/resolve", "/admin/flags/99999/ack"):
        answer = await admin.post(path)
        assert answer.status_code == 404, path
        assert "99999" in answer.json()["error"]["message"]
    assert (await admin.post("/admin/flags/0/ack")).status_code == 400


@pytest.fixture
def cli_env(world: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI's environment pointing at the test database."""
    settings = world.settings
    for name in ("database_url", "secret_key", "data_dir"):
        monkeypatch.setenv(f"MAITRED_{name.upper()}", str(getattr(settings, name)))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


async def test_maitred_flags_lists_resolves_and_acknowledges(
    world: Runtime, cli_env: Settings
) -> None:
    held = await _raise(world, kinds.BOOKING_HELD, "booking:b-9", "held: table 9")
    refused = await _raise(world, kinds.ORDER_SKU_REJECTED, "order:o-9", "refused PIZZA-001")
    runner = CliRunner(env={"COLUMNS": "250"})

    listed = runner.invoke(flags_app, [])
    acked = runner.invoke(flags_app, ["ack", str(held)])
    resolved = runner.invoke(flags_app, ["resolve", str(refused), "--note", "done by hand"])
    after = runner.invoke(flags_app, ["list"])
    everything = runner.invoke(flags_app, ["list", "--all"])
    unknown = runner.invoke(flags_app, ["resolve", "99999"])

    assert listed.exit_code == 0, listed.output
    assert "booking:b-9" in listed.output
    assert "order:o-9" in listed.output
    assert acked.exit_code == 0, acked.output
    assert _flag(world, held).acknowledged_at is not None
    assert resolved.exit_code == 0, resolved.output
    assert _flag(world, refused).resolved_by == "operator: done by hand"
    assert "order:o-9" not in after.output
    assert "acknowledged" in after.output
    assert "order:o-9" in everything.output
    assert unknown.exit_code != 0
    assert "99999" in unknown.output


async def test_maitred_flags_resolves_or_acknowledges_every_open_flag_of_a_kind(
    world: Runtime, cli_env: Settings
) -> None:
    first = await _raise(world, kinds.ORDER_SKU_REJECTED, "order:o-1")
    second = await _raise(world, kinds.ORDER_SKU_REJECTED, "order:o-2")
    held = await _raise(world, kinds.BOOKING_HELD, "booking:b-1")
    runner = CliRunner()

    acked = runner.invoke(flags_app, ["ack", "--kind", kinds.BOOKING_HELD, "--venue", "v1"])
    resolved = runner.invoke(flags_app, ["resolve", "--kind", kinds.ORDER_SKU_REJECTED])
    neither = runner.invoke(flags_app, ["resolve"])
    both = runner.invoke(flags_app, ["resolve", str(held), "--kind", kinds.BOOKING_HELD])

    assert acked.exit_code == 0, acked.output
    assert _flag(world, held).acknowledged_at is not None
    assert resolved.exit_code == 0, resolved.output
    assert [_flag(world, i).resolved_by for i in (first, second)] == ["operator"] * 2
    assert _flag(world, held).resolved_at is None
    assert (neither.exit_code, both.exit_code) == (2, 2)
