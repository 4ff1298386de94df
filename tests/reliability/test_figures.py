"""The figures recorder itself."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.figures import Figures


def test_figures_are_kept_per_test_and_written_as_json(tmp_path: Path) -> None:
    figures = Figures()
    figures.record("test_a", events=10, lost=0)
    figures.record("test_a", duplicates=1)
    figures.record("test_b", cases=5)

    figures.write(tmp_path / "out.json")

    assert json.loads((tmp_path / "out.json").read_text()) == {
        "test_a": {"events": 10, "lost": 0, "duplicates": 1},
        "test_b": {"cases": 5},
    }
    assert figures.lines() == ["test_a: events=10, lost=0, duplicates=1", "test_b: cases=5"]
