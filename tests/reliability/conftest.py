"""Fixtures of the reliability suite: `figure` records what a test measured."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.reliability.figures import FIGURES

Record = Callable[..., None]


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Record:
    """Record this test's figures: `figure(events=2000, lost=0, duplicates=3)`.

    They are printed in pytest's summary ("reliability figures") and written to
    tests/reliability/results/latest.json."""
    name = request.node.nodeid.split("::", 1)[-1]

    def record(**values: Any) -> None:
        FIGURES.record(name, **values)
        print(f"[figure] {name}: {values}")

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures recorded in this run, and keep them for the README."""
    if not FIGURES.rows:
        return
    terminalreporter.section("reliability figures")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
    FIGURES.write()
