"""`maitred venues …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="venues", no_args_is_help=True)
