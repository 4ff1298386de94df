"""`maitred venues set` sets every venue setting, and keeps what it is not given."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from maitred.cli import app
from maitred.config import Settings, get_settings
from maitred.runtime import Runtime
from maitred.venues import service


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI reads its settings from the environment, like in production."""
    for name in ("database_url", "secret_key", "data_dir"):
        monkeypatch.setenv(f"MAITRED_{name.upper()}", str(getattr(settings, name)))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_seating_statuses_and_unknown_skus_are_set_and_kept(
    runtime: Runtime, cli_env: None
) -> None:
    runner = CliRunner(env={"COLUMNS": "250"})
    created = runner.invoke(
        app,
        ["venues", "set", "trattoria", "--seating-status", "Seated", "--seating-status",
         "arrived", "--reject-unknown-skus"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert '  seating_statuses: none → ["seated", "arrived"]' in created.output
    renamed = runner.invoke(app, ["venues", "set", "trattoria", "--name", "Trattoria"])
    assert renamed.exit_code == 0, renamed.output
    with runtime.db.read_sessions() as session:
        venue = service.get_venue(session, "trattoria")
    assert (venue.name, venue.seating_statuses, venue.reject_unknown_skus) == (
        "Trattoria",
        ["seated", "arrived"],
        True,
    )
    accepted = runner.invoke(app, ["venues", "set", "trattoria", "--accept-unknown-skus"])
    assert "  reject_unknown_skus: true → false" in accepted.output
    shown = runner.invoke(app, ["venues", "show", "trattoria"])
    assert "seating_statuses: seated, arrived" in shown.output
