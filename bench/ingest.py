"""`POST /rms` on a real `maitred serve --no-worker` (SQLite file, one process) against a bare
FastAPI endpoint served the same way, both driven by `bench.load` from a separate process."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / ".." / "shared" / "spec" / "fixtures"
PAYLOAD = FIXTURES / "rms_reservation_seated.json"
KEY = "bench-rms-key-0f1e2d3c4b5a69788796"
EXTERNAL_VENUE = "60e890aca5f07b6ee5b950b1"
UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]


@dataclass(frozen=True)
class LoadPlan:
    """How hard and how long each scenario is driven."""

    connections: int = 32
    duration: float = 8.0
    warmup: float = 1.0
    max_requests: int = 20_000


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(database_url: str) -> None:
    """Migrate, then insert one RMS partner and one venue linked to it."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from maitred.db.engine import make_throwaway_engine
    from maitred.db.migrate import upgrade
    from maitred.partners.models import Partner
    from maitred.security import hash_key
    from maitred.venues.models import Venue, VenueLink

    upgrade(database_url)
    engine = make_throwaway_engine(database_url)
    at = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        session.execute(
            insert(Partner).values(
                id="bench-rms", kind="rms", api_key_hash=hash_key(KEY), created_at=at, updated_at=at
            )
        )
        session.execute(insert(Venue).values(id="v-bench", created_at=at, updated_at=at))
        session.execute(
            insert(VenueLink).values(
                venue_id="v-bench", partner_id="bench-rms", role="rms", external_id=EXTERNAL_VENUE
            )
        )
    engine.dispose()


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll /healthz until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


@contextmanager
def serving(
    command: list[str], port: int, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server subprocess until the block ends."""
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        wait_ready(port, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(
    server: subprocess.Popen[bytes], port: int, plan: LoadPlan, prefix: str
) -> dict[str, Any]:
    """Run `bench.load` in its own process against the server on `port`; adds the server's CPU
    time per answered request, which other load on a shared machine disturbs less than req/s."""
    cpu_before = cpu_seconds(server.pid)
    result = _load(port, plan, prefix)
    answered = sum(n for status, n in result["statuses"].items() if status.isdigit())
    result["cpu_us_per_request"] = round(
        (cpu_seconds(server.pid) - cpu_before) / max(answered, 1) * 1e6, 1
    )
    return result


def _load(port: int, plan: LoadPlan, prefix: str) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "bench.load", f"http://127.0.0.1:{port}/rms",
        "--key", KEY, "--payload", str(PAYLOAD), "--prefix", prefix,
        "--connections", str(plan.connections), "--duration", str(plan.duration),
        "--warmup", str(plan.warmup), "--max-requests", str(plan.max_requests),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, check=True, timeout=120)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_bare(plan: LoadPlan) -> dict[str, Any]:
    """The baseline endpoint under the same load."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.bare:app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
               *UVICORN_FLAGS]  # fmt: skip
    with serving(command, port, dict(os.environ)) as server:
        return drive(server, port, plan, "bare")


def count_reservations(database: Path) -> int:
    """Reservations committed in the hub's SQLite file."""
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM reservations").fetchone()[0])


def run_hub(plan: LoadPlan, workdir: Path) -> dict[str, Any]:
    """`maitred serve --no-worker` under load; then check every 2xx is a stored reservation."""
    database = workdir / "bench.db"
    url = f"sqlite:///{database}"
    seed(url)
    port = free_port()
    env = dict(os.environ) | {
        "MAITRED_DATABASE_URL": url,
        "MAITRED_DATA_DIR": str(workdir),
        "MAITRED_SECRET_KEY": Fernet.generate_key().decode(),
        "MAITRED_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "maitred", "serve", "--no-worker", "--port", str(port)]
    with serving(command, port, env) as server:
        result = drive(server, port, plan, "hub")
        result["stored"] = count_reservations(database)  # before shutdown: 2xx == durable
    result["durable"] = result["stored"] == result["ok_total"]
    return result


def run(plan: LoadPlan | None = None) -> dict[str, Any]:
    """Baseline, hub, baseline again (the machine is shared: bracketing the hub run with two
    baseline runs exposes drift); the hub's ratio is to the mean of the two baselines."""
    plan = plan or LoadPlan()
    before = run_bare(plan)
    with tempfile.TemporaryDirectory(prefix="maitred-bench-") as tmp:
        hub = run_hub(plan, Path(tmp))
    after = run_bare(plan)
    baseline = (before["rps"] + after["rps"]) / 2
    base_cpu = (before["cpu_us_per_request"] + after["cpu_us_per_request"]) / 2
    return {
        "scenario": "POST /rms (seated, new booking per request)",
        "plan": plan.__dict__,
        "hub": hub,
        "bare": before
        | {
            "rps": round(baseline, 1),
            "cpu_us_per_request": round(base_cpu, 1),
            "runs_rps": [before["rps"], after["rps"]],
        },
        "bare_runs": [before, after],
        "ratio": round(hub["rps"] / baseline, 3) if baseline else 0.0,
        # Throughput ratio if each server had a core to itself: baseline CPU / hub CPU per request.
        "cpu_ratio": round(base_cpu / hub["cpu_us_per_request"], 3),
        "target": 0.5,
    }
