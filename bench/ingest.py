"""`POST /rms` on a real `maitred serve --no-worker` (SQLite file, one process) against a bare
FastAPI endpoint served the same way, both driven by `bench.load` from a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    FIXTURES,
    ROOT,
    UVICORN_FLAGS,
    Row,
    children,
    cpu_seconds,
    free_port,
    hub_env,
    serving,
)

PAYLOAD = FIXTURES / "rms_reservation_seated.json"
KEY = "bench-rms-key-0f1e2d3c4b5a69788796"
EXTERNAL_VENUE = "60e890aca5f07b6ee5b950b1"
TARGET_RATIO, TARGET_P99_MS = 1.0, 30.0


@dataclass(frozen=True)
class LoadPlan:
    """How hard and how long each scenario is driven."""

    connections: int = 32
    duration: float = 8.0
    warmup: float = 1.0
    max_requests: int = 20_000


def seed(database_url: str) -> None:
    """Migrate, then a venue as it runs on a Saturday night: linked to the RMS and to a POS,
    its tables mapped, so every seated booking is one the worker will open a POS order for."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from maitred.db.engine import make_throwaway_engine
    from maitred.db.migrate import upgrade
    from maitred.partners.models import Partner
    from maitred.security import hash_key
    from maitred.tables.models import TableMapping
    from maitred.venues.models import Venue, VenueLink

    upgrade(database_url)
    engine = make_throwaway_engine(database_url)
    at = datetime.now(UTC)
    rms_table = json.loads(PAYLOAD.read_text())["tables"][0]
    partner = {"created_at": at, "updated_at": at}
    with Session(engine) as session, session.begin():
        session.execute(
            insert(Partner).values(
                id="bench-rms", kind="rms", api_key_hash=hash_key(KEY), **partner
            )
        )
        session.execute(
            insert(Partner).values(
                id="bench-pos", kind="pos", base_url="http://127.0.0.1:9", **partner
            )
        )
        session.execute(insert(Venue).values(id="v-bench", timezone="Europe/Madrid", **partner))
        session.execute(
            insert(VenueLink),
            [
                {"venue_id": "v-bench", "partner_id": "bench-rms", "role": "rms",
                 "external_id": EXTERNAL_VENUE},
                {"venue_id": "v-bench", "partner_id": "bench-pos", "role": "pos",
                 "external_id": "pos-bench"},
            ],
        )  # fmt: skip
        session.execute(
            insert(TableMapping).values(
                venue_id="v-bench",
                rms_table_id=rms_table,
                pos_table_id="T1",
                state="confirmed",
                confidence=1.0,
                reason="bench",
                stale=False,
                updated_at=at,
            )
        )
    engine.dispose()


def count_durable(database_url: str) -> tuple[int, int]:
    """(reservations, reservations whose follow-up is queued) committed in the hub's database:
    the follow-up mark is the change's outbox row (the hub runs without a worker here)."""
    from sqlalchemy import func, select

    from maitred.db.engine import make_throwaway_engine
    from maitred.reservations.models import Reservation

    engine = make_throwaway_engine(database_url)
    try:
        with engine.connect() as connection:
            count = select(func.count()).select_from(Reservation)
            bookings = connection.scalar(count) or 0
            queued = connection.scalar(count.where(Reservation.followup_pending.is_(True))) or 0
            return int(bookings), int(queued)
    finally:
        engine.dispose()


def drive(
    server: subprocess.Popen[bytes], ports: list[int], plan: LoadPlan, prefix: str
) -> dict[str, Any]:
    """Run `bench.load` in its own process against the server(s); adds the server's CPU time
    per answered request, which other load on a shared machine disturbs less than req/s (with
    `--workers N`, the server's children are counted too)."""
    pids = [server.pid, *children(server.pid)]
    cpu_before = {pid: cpu_seconds(pid) for pid in pids}
    result = _load(ports, plan, prefix)
    answered = sum(n for status, n in result["statuses"].items() if status.isdigit())
    # uvicorn's supervisor restarts a worker process that misses its health check (seen on a
    # saturated machine): its CPU is then not counted, and the result says so.
    cpu_after = {pid: cpu_seconds(pid) for pid in pids if Path(f"/proc/{pid}").exists()}
    result["workers_restarted"] = len(pids) - len(cpu_after)
    cpu = sum(cpu_after[pid] - cpu_before[pid] for pid in cpu_after)
    result["cpu_us_per_request"] = round(cpu / max(answered, 1) * 1e6, 1)
    return result


def _load(ports: list[int], plan: LoadPlan, prefix: str) -> dict[str, Any]:
    urls = [f"http://127.0.0.1:{port}/rms" for port in ports]
    command = [
        sys.executable, "-m", "bench.load", *urls,
        "--key", KEY, "--payload", str(PAYLOAD), "--prefix", prefix,
        "--connections", str(plan.connections), "--duration", str(plan.duration),
        "--warmup", str(plan.warmup), "--max-requests", str(plan.max_requests),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, check=True, timeout=300)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_bare(plan: LoadPlan) -> dict[str, Any]:
    """The baseline endpoint under the same load."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.bare:app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
               *UVICORN_FLAGS]  # fmt: skip
    with serving(command, dict(os.environ), f"http://127.0.0.1:{port}/healthz") as server:
        return drive(server, [port], plan, "bare")


def run_hub(
    plan: LoadPlan, workdir: Path, database_url: str, *, serve_workers: int = 1
) -> dict[str, Any]:
    """`maitred serve --no-worker` under load; then check every 2xx is a stored reservation."""
    seed(database_url)
    port = free_port()
    env = hub_env(database_url, workdir)
    command = [sys.executable, "-m", "maitred", "serve", "--no-worker", "--port", str(port),
               "--workers", str(serve_workers)]  # fmt: skip
    with serving(command, env, f"http://127.0.0.1:{port}/healthz") as server:
        result = drive(server, [port], plan, "hub")
        # Counted before shutdown: every 2xx must already be a booking with its outbox row.
        result["stored"], result["outbox"] = count_durable(database_url)
    result["durable"] = result["stored"] == result["outbox"] == result["ok_total"]
    return result


def measure(plan: LoadPlan) -> dict[str, Any]:
    """Baseline, hub on SQLite, baseline again (the machine is shared: bracketing the hub run
    with two baseline runs exposes drift); the hub's ratio is to the mean of the baselines."""
    before = run_bare(plan)
    with tempfile.TemporaryDirectory(prefix="maitred-bench-") as tmp:
        hub = run_hub(plan, Path(tmp), f"sqlite:///{Path(tmp) / 'bench.db'}")
    after = run_bare(plan)
    baseline = (before["rps"] + after["rps"]) / 2
    base_cpu = (before["cpu_us_per_request"] + after["cpu_us_per_request"]) / 2
    return {
        "plan": plan.__dict__,
        "hub": hub,
        "bare_rps": round(baseline, 1),
        "bare_cpu_us_per_request": round(base_cpu, 1),
        "bare_runs": [before, after],
        "ratio": round(hub["rps"] / baseline, 3) if baseline else 0.0,
        # Throughput ratio if each server had a core to itself: baseline CPU / hub CPU per request.
        "cpu_ratio": round(base_cpu / hub["cpu_us_per_request"], 3),
    }


def run(quick: bool = False) -> list[Row]:
    """P1: durable `POST /rms` at 32 connections against the bare endpoint."""
    # A cap the bare endpoint cannot reach within its warm-up, or it would measure nothing.
    plan = LoadPlan(duration=3.0, warmup=0.5, max_requests=15_000) if quick else LoadPlan()
    result = measure(plan)
    hub = result["hub"]
    ratio, p99 = result["ratio"], hub["p99_ms"]
    share = min(ratio / TARGET_RATIO, TARGET_P99_MS / p99 if p99 else 0.0)
    return [
        Row(
            id="P1",
            scenario="POST /rms durable, 32 connections",
            figure=hub["rps"],
            unit="req/s",
            target=f"≥ {TARGET_RATIO}x bare, p99 ≤ {TARGET_P99_MS:.0f} ms",
            passed=ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS and hub["durable"],
            share=share,
            baseline=result["bare_rps"],
            ratio=ratio,
            details=result
            | {
                "p99_ms": p99,
                "durable": f"{hub['stored']} bookings, {hub['outbox']} follow-ups queued, "
                f"{hub['ok_total']} 2xx",
            },
        )
    ]
