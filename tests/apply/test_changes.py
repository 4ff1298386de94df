"""What applying a file changes is printed field by field (`serve --config` at start and
`apply`), and `apply --dry-run` shows it without writing (decision 0012: the file wins)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from maitred.api.app import create_app
from maitred.config import Settings
from maitred.demo.stack import free_port
from tests.apply.documents import ENV, raw_rows, write
from tests.conftest import ADMIN_TOKEN


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        **ENV,
        "MAITRED_DATABASE_URL": settings.database_url,
        "MAITRED_DATA_DIR": str(settings.data_dir),
        "MAITRED_SECRET_KEY": settings.secret_key or "",
        "MAITRED_ALLOW_LOOPBACK": "true",  # the document's partners listen on 127.0.0.1
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "maitred", *args]
    return subprocess.run(
        command, env=_env(settings), capture_output=True, text=True, timeout=60, check=False
    )


def _edit_outside_the_file(settings: Settings, path: Path) -> None:
    """Apply the file, then change what it names with the CLI, as an operator might."""
    assert _run(settings, "apply", str(path)).returncode == 0
    renamed = _run(settings, "partners", "set", "acme-rms", "--name", "Edited")
    unlinked = _run(settings, "venues", "set", "trattoria", "--unlink", "pos")
    assert (renamed.returncode, unlinked.returncode) == (0, 0), renamed.stderr + unlinked.stderr


EXPECTED = [
    "partner acme-rms updated",
    '  name: "Edited" → "Acme reservations"',
    "venue trattoria updated",
    '  pos: none → {partner = "acme-pos", venue_id = "pos-venue-1"}',
]


def test_serve_config_prints_each_field_it_changed(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path)
    _edit_outside_the_file(settings, path)
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    command = [sys.executable, "-m", "maitred", "serve", "--config", str(path)]
    env = {**_env(settings), "MAITRED_LOG_FORMAT": "json", "MAITRED_PORT": str(free_port())}
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
        try:
            deadline = time.monotonic() + 60
            while "Application startup complete" not in err.read_text():
                assert server.poll() is None, err.read_text()
                assert time.monotonic() < deadline, err.read_text()
                time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=30)
    lines = out.read_text().splitlines()
    assert lines == [*EXPECTED, f"applied {path}: 2 updated, 1 unchanged"]
    # uvicorn's own lines come in the same JSON format as maitred's
    logged = [json.loads(line) for line in err.read_text().splitlines() if line.strip()]
    assert {"starting", "Application startup complete."} <= {e["event"] for e in logged}


def test_dry_run_shows_the_difference_and_writes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path)
    _edit_outside_the_file(settings, path)
    before = raw_rows(settings.database_url)
    result = _run(settings, "apply", "--dry-run", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        *EXPECTED,
        f"would apply {path}: 2 updated, 1 unchanged (dry run: nothing written)",
    ]
    assert raw_rows(settings.database_url) == before


def test_admin_api_reports_fields_and_never_a_secret_value(settings: Settings) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with TestClient(create_app(settings)) as client:
        body = {"kind": "pos", "name": "Till", "token": "first-token-value"}
        created = client.put("/admin/partners/till", json=body, headers=admin).json()
        body = {"kind": "pos", "token": "second-token-value"}  # name left out: cleared
        updated = client.put("/admin/partners/till", json=body, headers=admin).json()
    assert created["fields"][:2] == [
        {"field": "kind", "before": None, "after": "pos", "secret": False},
        {"field": "name", "before": None, "after": "Till", "secret": False},
    ]
    assert updated["fields"] == [
        {"field": "name", "before": "Till", "after": None, "secret": False},
        {"field": "token", "before": "[secret]", "after": "[secret]", "secret": True},
    ]
    assert "token-value" not in json.dumps([created, updated])
