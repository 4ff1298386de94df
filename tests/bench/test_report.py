"""The `make bench` report: the table and the chart say what each row measured and whether it
met its target (the measurements themselves are not tests: no timing is asserted here)."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import SCENARIOS, table
from bench.chart import write_chart
from bench.common import Row


def _rows() -> list[Row]:
    return [
        Row(
            id="P1",
            scenario="POST /rms durable",
            figure=1234.5,
            unit="req/s",
            target=">= 0.6x bare",
            passed=False,
            share=0.5,
            baseline=4000.0,
            ratio=0.31,
        ),
        Row(
            id="P6",
            scenario="idle",
            figure=100.0,
            unit="MB RSS",
            target="<= 120 MB",
            passed=True,
            share=1.2,
        ),
    ]


def test_every_issue_scenario_has_a_module() -> None:
    assert list(SCENARIOS) == ["P1", "P2", "P3", "P4", "P5", "P6", "P7"]


def test_the_table_shows_figure_baseline_ratio_and_verdict() -> None:
    lines = table(_rows()).splitlines()

    p1 = next(line for line in lines if line.startswith("P1"))
    p6 = next(line for line in lines if line.startswith("P6"))
    assert "1,234.5 req/s" in p1
    assert "4,000.0" in p1
    assert "0.31" in p1
    assert p1.rstrip().endswith("FAIL")
    assert p6.rstrip().endswith("pass")


def test_the_chart_has_a_bar_per_row_scaled_to_its_target(tmp_path: Path) -> None:
    page = write_chart(_rows(), tmp_path / "bench.html", stamp="now").read_text()

    assert page.count("<rect") == 2
    assert 'width="130.0"' in page  # P1 at half its target: half of the 260 px target mark
    assert "P6 idle" in page
