"""`maitred orders show` prints an order's fields and its checks' items, not Python reprs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from maitred.cli import app
from maitred.config import Settings, get_settings
from tests.factories import POS_KEY, Hub, bearer, fixture, open_hub


@pytest.fixture
def cli_hub(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    """A hub with the seeded world, and the CLI's environment pointing at its database."""
    for name in ("database_url", "secret_key", "data_dir"):
        monkeypatch.setenv(f"MAITRED_{name.upper()}", str(getattr(settings, name)))
    get_settings.cache_clear()
    with open_hub(settings) as hub:
        yield hub
    get_settings.cache_clear()


def test_orders_show_prints_fields_checks_and_items(cli_hub: Hub) -> None:
    order = fixture("pos_order_open.json")
    answer = cli_hub.client.post("/v1/pos/pos-venue-1/order", json=order, headers=bearer(POS_KEY))
    assert answer.status_code in (200, 201), answer.text
    shown = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["orders", "show", "v1", order["id"]])
    assert shown.exit_code == 0, shown.output
    lines = [line.rstrip() for line in shown.output.splitlines()]
    assert f"pos_order_id: {order['id']}" in lines
    assert "pos_tables: T12" in lines
    assert "check 98766" in lines
    assert "  total_amount: 150.00" in lines
    assert any("Steak" in line and "40.0" in line for line in lines)
    assert not [line for line in lines if "{'" in line or "Decimal(" in line or "datetime(" in line]
