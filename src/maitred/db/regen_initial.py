"""Rewrite the initial migration from the models (only until the first release).

Usage: `make migration`. Generates against an empty SQLite file, then formats the result.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from maitred.db.migrate import MIGRATIONS, alembic_config


def main() -> None:
    """Delete and regenerate versions/0001_initial.py."""
    versions = MIGRATIONS / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        config = alembic_config(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
    generated = next(versions.glob("0001_*.py"))
    target = versions / "0001_initial.py"
    generated.rename(target)
    text = target.read_text().replace("maitred.db.base.BigId", "sa.BigInteger()")
    target.write_text(text)
    ruff = Path(sys.executable).parent / "ruff"
    subprocess.run([str(ruff), "check", "--fix", "--quiet", str(target)], check=False)
    subprocess.run([str(ruff), "format", "--quiet", str(target)], check=True)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
