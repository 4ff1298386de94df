"""`make bench`: every scenario against its target (and its same-run baseline where it has
one), printed as a table and written as JSON and an HTML chart under bench/results/.

    python -m bench                 # every scenario
    python -m bench P1 P6           # some of them
    python -m bench --quick         # shorter runs (a smoke test of the harness, not figures)
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.chart import write_chart
from bench.common import Row

RESULTS = Path(__file__).resolve().parent / "results"

# Scenario id → the module whose `run(quick: bool) -> list[Row]` measures it.
SCENARIOS = {
    "P1": "bench.ingest",
    "P2": "bench.events",
    "P3": "bench.outbound",
    "P4": "bench.drain",
    "P5": "bench.scale",
    "P6": "bench.idle",
    "P7": "bench.checkout",
}


def table(rows: list[Row]) -> str:
    """The rows as a fixed-width table."""
    header = (
        f"{'id':<3} {'scenario':<46} {'figure':>14} {'baseline':>12} {'ratio':>6} "
        f"{'target':<34} {'result':<6}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        figure = f"{r.figure:,.1f} {r.unit}"
        baseline = "—" if r.baseline is None else f"{r.baseline:,.1f}"
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}"
        verdict = "pass" if r.passed else "FAIL"
        lines.append(
            f"{r.id:<3} {r.scenario:<46.46} {figure:>14} {baseline:>12} {ratio:>6} "
            f"{r.target:<34.34} {verdict:<6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the chosen scenarios, print the table, write the JSON and the chart."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ids", nargs="*", help="scenario ids (default: all)")
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    args = parser.parse_args(argv)
    wanted = [i.upper() for i in args.ids] or list(SCENARIOS)
    unknown = [i for i in wanted if i not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}")
    rows: list[Row] = []
    for scenario in wanted:
        print(f"running {scenario} …", file=sys.stderr, flush=True)
        module: Any = importlib.import_module(SCENARIOS[scenario])
        rows.extend(module.run(quick=args.quick))
    print(table(rows))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {"at": stamp, "quick": args.quick, "rows": [r.as_json() for r in rows]}
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(document, indent=2))
    (RESULTS / "latest.json").write_text(json.dumps(document, indent=2))
    chart = write_chart(rows, RESULTS / f"bench-{stamp}.html", stamp=stamp)
    print(f"written: {path.relative_to(RESULTS.parent.parent)}, {chart.name}")


if __name__ == "__main__":
    main()
