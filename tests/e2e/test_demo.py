"""`maitred demo --once` (what `make demo` runs) plays the whole service and exits 0."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maitred.demo.stack import ADMIN

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
    "fired by its lead time",
    "fired early",
    "sold-out sundae is refused",
    "times out",
]


def _listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


@pytest.mark.e2e
def test_demo_plays_every_step_says_what_to_try_and_stops_its_simulators(
    tmp_path: Path,
) -> None:
    """`maitred demo` (what `make demo` runs with --once, which ends after the summary)."""
    out = tmp_path / "demo.out"
    command = [sys.executable, "-m", "maitred", "demo", "--workdir", str(tmp_path / "demo")]
    # Narrower than the commands it suggests: each must still be one line to copy.
    env = {"COLUMNS": "100", "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    with out.open("w") as stdout:
        demo = subprocess.Popen(command, stdout=stdout, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 240
            while "Try, in another terminal" not in out.read_text():
                assert demo.poll() is None, out.read_text()[-3000:]
                assert time.monotonic() < deadline, out.read_text()[-3000:]
                time.sleep(0.5)
            text = out.read_text()
            simulators = re.findall(
                r"^  (?:POS|RMS|RBI POS|channel) +(http://127\.0\.0\.1:\d+)", text, re.M
            )
            assert len(simulators) == 4, text
            assert all(_listening(url) for url in simulators)
            demo.send_signal(signal.SIGTERM)
            assert demo.wait(timeout=60) == 0
        finally:
            if demo.poll() is None:
                demo.kill()
    passed = [line for line in text.splitlines() if line.startswith("✓")]
    for step in STEPS:
        assert any(step in line for line in passed), step
    assert "✗" not in text
    assert "16 / 16" in text
    online = re.search(r"webhooks received by the channel \(online orders\) +│? *(\d+)", text)
    assert online is not None, text
    assert int(online.group(1)) >= 8  # 3 + 3 updates for the fired orders, ERROR for the others
    database = (tmp_path / "demo" / "maitred.db").resolve()
    assert f"admin token  {ADMIN}" in text
    assert f"database     {database}" in text
    assert f"MAITRED_DATABASE_URL=sqlite:///{database}" in text
    assert "maitred channel-orders list trattoria-takeaway" in text
    assert not [url for url in simulators if _listening(url)]  # stopped with the demo
