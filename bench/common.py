"""What every benchmark scenario shares: its result row, running a server as its own process,
and reading a process's CPU time and memory from /proc (Linux)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / ".." / "shared" / "spec" / "fixtures"
UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]


@dataclass
class Row:
    """One line of the `make bench` table: a scenario's figure against its target."""

    id: str  # "P1" … "P7"
    scenario: str
    figure: float  # the measured value, in `unit`
    unit: str
    target: str  # what passing means, in words, e.g. "≥ 0.6x baseline, p99 ≤ 30 ms"
    passed: bool
    share: float  # progress toward the target: 1.0 meets it exactly (for the chart)
    baseline: float | None = None  # the same-run baseline, in `unit`, when there is one
    ratio: float | None = None  # figure / baseline
    details: dict[str, Any] = field(default_factory=dict)  # everything measured, for the JSON

    def as_json(self) -> dict[str, Any]:
        """The row as a JSON object."""
        return asdict(self)


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll `url` (e.g. …/healthz) until it answers 200; fail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def process(
    command: list[str], env: dict[str, str], log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a subprocess until the block ends (SIGTERM, then SIGKILL after 15 s)."""
    output = log.open("wb") if log is not None else None
    started = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT if output else None
    )
    try:
        yield started
    finally:
        started.terminate()
        try:
            started.wait(timeout=15)
        except subprocess.TimeoutExpired:
            started.kill()
            started.wait()
        if output is not None:
            output.close()


@contextmanager
def serving(
    command: list[str], env: dict[str, str], ready_url: str, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server subprocess, once it answers `ready_url`, until the block ends."""
    with process(command, env, log) as server:
        wait_ready(ready_url, server)
        yield server


def children(pid: int) -> list[int]:
    """Direct children of a process (e.g. uvicorn's worker processes)."""
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []


def hub_env(database_url: str, workdir: Path, **settings: str) -> dict[str, str]:
    """The environment of a hub process: its database, data dir, a fresh secret key, quiet
    logs, loopback partners allowed; `settings` add MAITRED_<NAME> variables."""
    env = dict(os.environ) | {
        "MAITRED_DATABASE_URL": database_url,
        "MAITRED_DATA_DIR": str(workdir),
        "MAITRED_SECRET_KEY": Fernet.generate_key().decode(),
        # MAITRED_BENCH_LOG_LEVEL=info measures with a log line per partner call.
        "MAITRED_LOG_LEVEL": os.environ.get("MAITRED_BENCH_LOG_LEVEL", "warning"),
        "MAITRED_ALLOW_LOOPBACK": "true",
    }
    return env | {f"MAITRED_{name.upper()}": value for name, value in settings.items()}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, *, peak: bool = False) -> float:
    """Resident memory of a process in MiB (`peak`: the high-water mark, VmHWM)."""
    wanted = "VmHWM:" if peak else "VmRSS:"
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(wanted):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


POSTGRES_URL = os.environ.get(
    "MAITRED_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL of a fresh, empty schema in the bench PostgreSQL database, dropped afterwards."""
    import uuid

    from sqlalchemy import text

    from maitred.db.engine import make_throwaway_engine

    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = make_throwaway_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
