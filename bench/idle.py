"""P6: the resident memory of an idle `maitred serve` (API + in-process worker, SQLite)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row, free_port, hub_env, rss_mb, serving

TARGET_MB = 120.0
SETTLE_SECONDS = 5.0  # after /healthz answers: the worker's first poll and sweep have run


def measure(settle: float = SETTLE_SECONDS) -> dict[str, float]:
    """Start `maitred serve`, let it idle, read its RSS (now and peak)."""
    with tempfile.TemporaryDirectory(prefix="maitred-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        env = hub_env(f"sqlite:///{workdir / 'idle.db'}", workdir)
        command = [sys.executable, "-m", "maitred", "serve", "--port", str(port)]
        with serving(command, env, f"http://127.0.0.1:{port}/healthz") as server:
            time.sleep(settle)
            return {
                "rss_mb": round(rss_mb(server.pid), 1),
                "peak_rss_mb": round(rss_mb(server.pid, peak=True), 1),
            }


def run(quick: bool = False) -> list[Row]:
    """P6 as a table row."""
    result = measure(1.0 if quick else SETTLE_SECONDS)
    rss = result["rss_mb"]
    return [
        Row(
            id="P6",
            scenario="idle maitred serve (API + worker)",
            figure=rss,
            unit="MB RSS",
            target=f"<= {TARGET_MB:.0f} MB RSS",
            passed=rss <= TARGET_MB,
            share=TARGET_MB / rss if rss else 0.0,
            details=result,
        )
    ]
