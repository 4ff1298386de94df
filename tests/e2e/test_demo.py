"""`maitred demo --once` (what `make demo` runs) plays the whole service and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

STEPS = [
    "matches the RMS's tables",
    "Lovelace (2) seated",
    "pre-ordered tasting menu",
    "walk-in couple",
    "Hopper seated",
    "moves to 002",
    "malformed update is refused",
    "doesn't know",
    "kitchen is busy",
    "splits the bill",
    "Bills are paid",
    "voided",
]


@pytest.mark.e2e
def test_demo_once_plays_every_step_and_exits_zero(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "maitred", "demo", "--once", "--workdir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = [line for line in result.stdout.splitlines() if line.startswith("✓")]
    for step in STEPS:
        assert any(step in line for line in passed), step
    assert "✗" not in result.stdout
    assert "12 / 12" in result.stdout
