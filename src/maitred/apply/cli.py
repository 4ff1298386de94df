"""`maitred apply FILE`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from maitred.config import get_settings


def apply(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Make partners and venues match a TOML file (idempotent; ${ENV_VAR} values allowed).

    Partners and venues absent from the file are left alone. A refused file changes nothing
    and exits with status 2, naming the line and field.
    """
    # Alembic narrates at INFO (even on import); an operator applying a file wants the outcome.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from maitred.apply.service import ApplyFileError, apply_file
    from maitred.db.migrate import is_current
    from maitred.errors import MaitredError

    settings = get_settings()
    if not is_current(settings.database_url):
        typer.echo("the database schema is not current; run `maitred db upgrade` first", err=True)
        raise typer.Exit(1)
    try:
        summary = apply_file(settings, path)
    except ApplyFileError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from exc
    except MaitredError as exc:  # e.g. the database is unavailable: nothing was applied
        typer.echo(f"{path}: not applied: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(summary)
