"""P5: P1 and P2 on PostgreSQL with two `serve` processes (and, for P2, two `maitred worker`
processes), against P1 on SQLite with one process, measured in the same run."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench import events, ingest
from bench.common import Row, postgres_schema

TARGET_INGEST = 1_500.0  # ingests/s on PostgreSQL


def _ingest(plan: ingest.LoadPlan, database_url: str | None, serve_workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="maitred-bench-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        return ingest.run_hub(plan, Path(tmp), url, serve_workers=serve_workers)


def run(quick: bool = False) -> list[Row]:
    """P1 on SQLite (1 process) and on PostgreSQL (2 processes); P2 on PostgreSQL."""
    plan = ingest.LoadPlan(duration=3.0, max_requests=5_000) if quick else ingest.LoadPlan()
    sqlite = _ingest(plan, None, 1)
    with postgres_schema() as url:
        postgres = _ingest(plan, url, 2)
    with postgres_schema() as url, tempfile.TemporaryDirectory(prefix="maitred-bench-") as tmp:
        flow = events.measure(url, Path(tmp), serve_workers=2, worker_processes=2, quick=quick)
    rps = postgres["rps"]
    ratio = round(rps / sqlite["rps"], 3) if sqlite["rps"] else 0.0
    return [
        Row(
            id="P5",
            scenario="P1 on PostgreSQL, 2 serve processes",
            figure=rps,
            unit="req/s",
            target=f">= {TARGET_INGEST:,.0f} ingests/s (ratio to P1 on SQLite reported)",
            passed=rps >= TARGET_INGEST and postgres["durable"],
            share=rps / TARGET_INGEST,
            baseline=sqlite["rps"],
            ratio=ratio,
            details={"postgresql": postgres, "sqlite": sqlite},
        ),
        Row(
            id="P5",
            scenario="P2 on PostgreSQL, 2 serve + 2 worker",
            figure=float(flow["events_per_s"]),
            unit="events/s",
            target="reported (P2's targets are for SQLite)",
            passed=True,
            share=float(flow["events_per_s"]) / 1_000,
            details=flow,
        ),
    ]
