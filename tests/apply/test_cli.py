"""`maitred apply FILE` as an operator runs it: a subprocess configured by environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from maitred.config import Settings
from tests.apply.documents import DOCUMENT, ENV, raw_rows, write


def _apply(settings: Settings, path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **ENV,
        "MAITRED_DATABASE_URL": settings.database_url,
        "MAITRED_DATA_DIR": str(settings.data_dir),
        "MAITRED_SECRET_KEY": settings.secret_key or "",
        "MAITRED_ALLOW_LOOPBACK": "true",  # the document's partners listen on 127.0.0.1
    }
    command = [sys.executable, "-m", "maitred", "apply", str(path)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_cli_applies_a_file_and_reports_each_run(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path)
    first = _apply(settings, path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == f"applied {path}: 3 created"
    assert "partner acme-rms created" in first.stdout.splitlines()
    second = _apply(settings, path)
    assert second.stdout.strip() == f"applied {path}: 3 unchanged"
    assert [row[0] for row in raw_rows(settings.database_url)["partners"]] == [
        "acme-pos",
        "acme-rms",
    ]


def test_cli_refuses_a_bad_file_with_exit_2_and_the_line(
    settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path, DOCUMENT.replace('kind = "pos"', 'kind = "till"'))
    result = _apply(settings, path)
    assert result.returncode == 2
    assert f"{path}:13: partners[1].kind:" in result.stderr
    assert raw_rows(settings.database_url)["partners"] == []
