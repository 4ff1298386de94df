"""`maitred orders …`: a venue's orders and checks, and reconciling with the POS on demand."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from maitred.errors import MaitredError
from maitred.orders import queries
from maitred.orders.reconcile import ReconcileReport, reconcile_all, reconcile_venue
from maitred.orders.schemas import OrderRead
from maitred.partners.cli import print_record, read, with_runtime

app = typer.Typer(help="POS orders.", no_args_is_help=True)


@app.command("list")
def list_command(
    venue: Annotated[str, typer.Argument(help="maitred's venue id.")],
    status: Annotated[
        str | None, typer.Option(help="requested, open, closed, void or failed.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The venue's orders, most recently changed first."""
    page = with_runtime(
        lambda rt: read(rt, lambda s: queries.list_orders(s, venue, status=status, limit=limit))
    )
    table = Table("order", "POS id", "source", "booking", "status", "tables", "checks", "total")
    for order in page.items:
        total = sum((c.total_amount for c in order.checks if c.status != "void"), start=Decimal(0))
        checks = ", ".join(f"{c.check_number} {c.status}" for c in order.checks)
        table.add_row(
            order.id,
            order.pos_order_id or "",
            order.source,
            order.booking_id or "",
            order.status,
            " ".join(order.pos_tables),
            checks,
            f"{total:.2f}",
        )
    Console().print(table)


@app.command("show")
def show(
    venue: Annotated[str, typer.Argument(help="maitred's venue id.")],
    order: Annotated[str, typer.Argument(help="maitred's order id or the POS's.")],
) -> None:
    """One order with its checks."""
    found: OrderRead = with_runtime(
        lambda rt: read(rt, lambda s: queries.get_order(s, venue, order))
    )
    print_record(found)


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
