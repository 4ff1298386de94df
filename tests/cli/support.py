"""Running `maitred` as an operator does: a process with its environment, in a directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ENV_KEEP = ("PATH", "HOME", "LANG", "PYTHONPATH")


def maitred(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `maitred ARGS` with only the given MAITRED_ variables set (none from this process)."""
    base = {k: v for k, v in os.environ.items() if k in ENV_KEEP}
    return subprocess.run(
        [sys.executable, "-m", "maitred", *args],
        env={**base, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
