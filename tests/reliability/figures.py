"""The reliability suite's figures: each test records what it measured (events, kills, lost,
duplicates, fuzz cases, server errors...), pytest prints them in its summary, and they are
written to `tests/reliability/results/latest.json` for the README's "Reliability" section."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "latest.json"


@dataclass
class Figures:
    """Figures recorded during one pytest session, keyed by the test's node id."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, test: str, **values: Any) -> None:
        self.rows.setdefault(test, {}).update(values)

    def lines(self) -> list[str]:
        return [
            f"{test}: " + ", ".join(f"{key}={value}" for key, value in values.items())
            for test, values in sorted(self.rows.items())
        ]

    def write(self, path: Path = RESULTS) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.rows, indent=2, sort_keys=True, default=str) + "\n")


FIGURES = Figures()
