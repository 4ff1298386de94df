"""`maitred orders …`: reconcile with the POS on demand."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from maitred.errors import MaitredError
from maitred.orders.reconcile import ReconcileReport, reconcile_all, reconcile_venue

app = typer.Typer(help="POS orders.", no_args_is_help=True)


@app.command("reconcile")
def reconcile_command(
    venue: Annotated[
        str | None,
        typer.Argument(help="maitred's venue id; every POS-linked venue when omitted."),
    ] = None,
) -> None:
    """Pull the POS's open and recently closed orders and apply what maitred missed."""
    from maitred.config import get_settings
    from maitred.runtime import Runtime

    console = Console()

    async def main() -> list[ReconcileReport]:
        runtime = Runtime.build(get_settings())
        try:
            if venue is not None:
                return [await reconcile_venue(runtime, venue)]
            return await reconcile_all(runtime)
        finally:
            await runtime.close()

    try:
        reports = asyncio.run(main())
    except MaitredError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    console.print(_report_table(reports))
    for report in reports:
        for error in report.errors:
            console.print(f"[red]{report.venue_id}: {error}[/red]")
    if any(report.errors for report in reports):
        raise typer.Exit(1)


def _report_table(reports: list[ReconcileReport]) -> Table:
    table = Table(
        "venue", "seen", "created", "updated", "unchanged", "looked up", "errors", "correlation id"
    )
    for r in reports:
        counts = (r.seen, r.created, r.updated, r.unchanged, r.looked_up, len(r.errors))
        table.add_row(r.venue_id, *(str(n) for n in counts), r.correlation_id or "")
    return table
