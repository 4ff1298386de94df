"""`maitred apply FILE`."""

from __future__ import annotations

from pathlib import Path

import typer

from maitred.config import get_settings


def apply(path: Path) -> None:
    """Make partners and venues match a TOML file (idempotent; ${ENV_VAR} values allowed)."""
    from maitred.apply.service import apply_file

    typer.echo(apply_file(get_settings(), path))
