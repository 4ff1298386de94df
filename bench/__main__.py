"""`make bench` entry point: each scenario against its baseline measured in the same run."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ingest

RESULTS = Path(__file__).resolve().parent / "results"


def table(result: dict[str, Any]) -> str:
    """The summary as a fixed-width table."""
    hub, bare = result["hub"], result["bare"]
    header = (
        f"{'scenario':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'base req/s':>11} {'ratio':>6} {'target':>7}"
    )
    row = (
        f"{result['scenario']:<44} {hub['rps']:>8.0f} {hub['p50_ms']:>8.1f} {hub['p99_ms']:>8.1f} "
        f"{bare['rps']:>11.0f} {result['ratio']:>6.2f} {result['target']:>6.1f}x"
    )
    cpu = (
        f"server CPU per request: hub {hub['cpu_us_per_request']:.0f} µs, "
        f"baseline {bare['cpu_us_per_request']:.0f} µs "
        f"→ CPU-normalised ratio {result['cpu_ratio']:.2f}"
    )
    durable = f"durability: {hub['stored']} stored / {hub['ok_total']} answered 2xx"
    statuses = f"hub statuses: {hub['statuses']}   baseline runs req/s: {bare['runs_rps']}"
    return "\n".join(
        [header, row, cpu, durable + ("" if hub["durable"] else "  MISMATCH"), statuses]
    )


def main() -> None:
    """Run every benchmark, print the table and write the JSON under bench/results/."""
    result = ingest.run()
    print(table(result))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"ingest-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"written: {path.relative_to(RESULTS.parent.parent)}")
    if not result["hub"]["durable"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
