"""The bench results as a self-contained HTML page with an SVG bar chart (no dependencies):
one bar per scenario, its figure as a share of the target, the target line at 100 %."""

from __future__ import annotations

import html
from pathlib import Path

from bench.common import Row

BAR_HEIGHT, GAP, LABEL_WIDTH, CHART_WIDTH = 26, 10, 330, 520


def write_chart(rows: list[Row], path: Path, *, stamp: str) -> Path:
    """Write the page to `path` and return it."""
    height = len(rows) * (BAR_HEIGHT + GAP) + 40
    scale = CHART_WIDTH / 2  # 100 % of target sits at half the width; bars cap at 200 %
    bars = []
    for n, row in enumerate(rows):
        y = 20 + n * (BAR_HEIGHT + GAP)
        width = max(0.0, min(row.share, 2.0)) * scale
        colour = "#2e7d32" if row.passed else "#c62828"
        label = html.escape(f"{row.id} {row.scenario}")
        value = html.escape(f"{row.figure:,.1f} {row.unit} ({'pass' if row.passed else 'FAIL'})")
        bars.append(
            f'<text x="0" y="{y + 17}" font-size="13">{label}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{colour}"/>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 17}" font-size="12">{value}</text>'
        )
    target_x = LABEL_WIDTH + scale
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_WIDTH + CHART_WIDTH + 220}" '
        f'height="{height}" font-family="sans-serif">{"".join(bars)}'
        f'<line x1="{target_x}" y1="10" x2="{target_x}" y2="{height - 10}" stroke="#333" '
        f'stroke-dasharray="4 3"/><text x="{target_x + 4}" y="12" font-size="11">target</text>'
        "</svg>"
    )
    rows_html = "".join(
        f"<tr><td>{html.escape(r.id)}</td><td>{html.escape(r.scenario)}</td>"
        f"<td>{r.figure:,.1f} {html.escape(r.unit)}</td>"
        f"<td>{'' if r.baseline is None else f'{r.baseline:,.1f}'}</td>"
        f"<td>{'' if r.ratio is None else f'{r.ratio:.2f}'}</td>"
        f"<td>{html.escape(r.target)}</td><td>{'pass' if r.passed else 'FAIL'}</td></tr>"
        for r in rows
    )
    path.write_text(
        "<!doctype html><meta charset='utf-8'><title>maitred bench</title>"
        f"<h1>maitred bench, {html.escape(stamp)}</h1>"
        "<p>Each bar is the figure as a share of its target (the dashed line is 100 %).</p>"
        f"{svg}<table border='1' cellpadding='4'><tr><th>id</th><th>scenario</th><th>figure"
        "</th><th>baseline</th><th>ratio</th><th>target</th><th>result</th></tr>"
        f"{rows_html}</table>"
    )
    return path
