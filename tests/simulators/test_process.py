"""The simulators run as their own processes: `python -m maitred.simulators pos|rms`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from maitred.demo.stack import free_port

pytestmark = pytest.mark.e2e

TOKEN = "subprocess-token"


def get(url: str, token: str | None = TOKEN) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until_up(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "the simulator exited early"
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the simulator did not start listening")


@pytest.fixture
def pos_process() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    args = ["pos", "--port", str(port), "--token", TOKEN, "--hub", "http://127.0.0.1:9"]
    process = subprocess.Popen(
        [sys.executable, "-m", "maitred.simulators", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/_sim/state", process)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_pos_simulator_serves_http_as_its_own_process(
    pos_process: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = pos_process
    status, tables = get(f"{base}/venue/pos-venue-1/tables")
    assert status == 200
    assert tables[0] == {"id": "T1", "name": "Table 1", "area": "Dining room"}
    assert get(f"{base}/venue/pos-venue-1/tables", token="wrong")[0] == 401
    process.terminate()
    output, _ = process.communicate(timeout=10)
    assert "[pos-sim] listening on" in output
    assert "answered 401" in output
    assert "[pos-sim] stopped" in output
    assert process.returncode == 0
