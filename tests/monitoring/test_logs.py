"""The hub's log: one line per partner call and per delivery outcome, in JSON when asked, the
libraries' lines in the same format, and the migration tool quiet unless it migrates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from maitred.config import Settings
from maitred.logs import configure
from maitred.runtime import Runtime
from tests.deliveries.helpers import (
    Received,
    add_partner,
    dispatching,
    enqueue,
    receiving,
    state_of,
    wait_until,
)
from tests.factories import RMS_KEY, bearer, fixture, open_hub


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """Logs configured as `MAITRED_LOG_FORMAT=json` would, back to the console after."""
    configure("info", "json")
    yield capsys
    configure("info", "console")


def _lines(err: str) -> list[dict[str, Any]]:
    # A structlog logger used by an earlier test of this process keeps the format it was first
    # used with (cache_logger_on_first_use); a process configures once, before any logging.
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_one_json_line_per_partner_call_refused_or_accepted(
    settings: Settings, json_logs: pytest.CaptureFixture[str]
) -> None:
    with open_hub(settings) as hub:
        refused = hub.client.post("/rms", json={}, headers=bearer("not-a-key-0123456789"))
        booking = fixture("rms_reservation_seated.json")
        accepted = hub.client.post("/rms", json=booking, headers=bearer(RMS_KEY))
    assert (refused.status_code, accepted.status_code) == (401, 200)
    calls = [e for e in _lines(json_logs.readouterr().err) if e["event"] == "partner call"]
    assert [(c["method"], c["path"], c["status"], c["partner"]) for c in calls] == [
        ("POST", "/rms", 401, None),
        ("POST", "/rms", 200, "rms-a"),
    ]
    assert calls[1]["venue"] == "v1"
    assert calls[1]["correlation_id"] == accepted.headers["x-correlation-id"]
    assert all(c["level"] == "info" and c["timestamp"] for c in calls)
    assert RMS_KEY not in json.dumps(calls)


async def test_one_line_per_delivery_outcome(
    runtime: Runtime, json_logs: pytest.CaptureFixture[str]
) -> None:
    async def refuse(_r: Received, _nth: int) -> web.StreamResponse:
        return web.Response(status=400, text="no")

    async with receiving(refuse) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"type": "t"})
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "failed")
    outcomes = [e for e in _lines(json_logs.readouterr().err) if e.get("delivery_id")]
    assert [(o["event"], o["status"], o["attempt"]) for o in outcomes] == [
        ("delivery failed", 400, 1)
    ]
    assert outcomes[0]["url"] == receiver.url
    assert outcomes[0]["partner"] == partner.id


def _maitred(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maitred", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_migration_lines_only_when_something_is_migrated_and_in_json(tmp_path: Path) -> None:
    env = {
        "MAITRED_DATABASE_URL": f"sqlite:///{tmp_path / 'maitred.db'}",
        "MAITRED_DATA_DIR": str(tmp_path),
        "MAITRED_LOG_FORMAT": "json",
    }
    first, second = _maitred(["db", "upgrade"], env), _maitred(["db", "upgrade"], env)
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    events = [[e["event"] for e in _lines(run.stderr)] for run in (first, second)]
    assert events == [["starting", "database migrated"], ["starting"]]
