"""`maitred deliveries …` and the ping command, against the test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from maitred.cli import deliveries as cli
from maitred.config import Settings, get_settings
from maitred.deliveries.models import Delivery
from maitred.runtime import Runtime
from tests.deliveries.helpers import add_partner, delivery, enqueue, state_of


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI reads its settings from the environment, like in production."""
    monkeypatch.setenv("MAITRED_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MAITRED_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MAITRED_SECRET_KEY", settings.secret_key or "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_list_show_and_replay_failed_deliveries(runtime: Runtime, cli_env: None) -> None:
    partner = await add_partner(runtime, webhook_url="http://127.0.0.1:9/hook")
    ids = [await enqueue(runtime, partner, {"n": n}) for n in range(3)]
    await runtime.writer.run(lambda s: s.execute(update(Delivery).values(state="failed")))
    runner = CliRunner(env={"COLUMNS": "250"})

    listed = runner.invoke(cli.app, ["list", "--state", "failed", "--partner", partner.id])
    assert listed.exit_code == 0, listed.output
    assert all(delivery(runtime, i).message_id in listed.output for i in ids)

    shown = runner.invoke(cli.app, ["show", str(ids[0])])
    assert shown.exit_code == 0, shown.output
    assert '{"n":0}' in shown.output

    one = runner.invoke(cli.app, ["replay", str(ids[0])])
    assert one.exit_code == 0, one.output
    assert state_of(runtime, ids[0]) == "pending"

    again = runner.invoke(cli.app, ["replay", str(ids[0])])
    assert again.exit_code == 1

    bulk = runner.invoke(cli.app, ["replay", "--all-failed", "--partner", partner.id])
    assert bulk.exit_code == 0, bulk.output
    assert "2 deliveries" in bulk.output
    assert {state_of(runtime, i) for i in ids} == {"pending"}


async def test_endpoints_enable_and_ping(
    runtime: Runtime, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    partner = await add_partner(runtime, webhook_url="http://127.0.0.1:9/hook")
    runner = CliRunner(env={"COLUMNS": "250"})
    endpoints = runner.invoke(cli.app, ["endpoints"])
    assert endpoints.exit_code == 0, endpoints.output
    assert partner.id in endpoints.output
    enabled = runner.invoke(cli.app, ["enable", str(partner.endpoint_id)])
    assert enabled.exit_code == 0, enabled.output
    cli.ping_command(partner.id)
    assert "ping queued" in capsys.readouterr().out
