"""`maitred deliveries …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="deliveries", no_args_is_help=True)
