"""`maitred orders …`: a venue's orders and checks, and reconciling with the POS on demand."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer

from maitred import terminal
from maitred.commands import read, run_async, with_runtime
from maitred.flows.reconcile import ReconcileReport, reconcile_all, reconcile_venue
from maitred.orders import queries
from maitred.orders.rules import CheckStatus, OrderStatus
from maitred.orders.schemas import CheckRead, OrderRead
from maitred.runtime import Runtime

app = typer.Typer(help="POS orders.", no_args_is_help=True)


@app.command("list")
def list_command(
    venue: Annotated[str, typer.Argument(help="maitred's venue id.")],
    status: Annotated[OrderStatus | None, typer.Option(help="Only orders in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The venue's orders, most recently changed first."""
    page = with_runtime(
        lambda rt: read(rt, lambda s: queries.list_orders(s, venue, status=status, limit=limit))
    )
    terminal.print_table(
        ("order", "POS id", "source", "booking", "status", "tables", "checks", "total"),
        (
            (
                order.id,
                order.pos_order_id,
                order.source,
                order.booking_id,
                order.status,
                " ".join(order.pos_tables),
                ", ".join(f"{c.check_number} {c.status}" for c in order.checks),
                f"{_total(order.checks):.2f}",
            )
            for order in page.items
        ),
    )


def _total(checks: list[CheckRead]) -> Decimal:
    return sum((c.total_amount for c in checks if c.status != CheckStatus.VOID), start=Decimal(0))


@app.command("show")
def show(
    venue: Annotated[str, typer.Argument(help="maitred's venue id.")],
    order: Annotated[str, typer.Argument(help="maitred's order id or the POS's.")],
) -> None:
    """One order with its checks and their items."""
    found: OrderRead = with_runtime(
        lambda rt: read(rt, lambda s: queries.get_order(s, venue, order))
    )
    terminal.print_fields(found.model_dump(exclude={"checks"}))
    for check in found.checks:
        terminal.line("")
        terminal.line(f"check {terminal.visible(check.check_number)}", style="bold")
        terminal.print_fields(check.model_dump(exclude={"check_number", "items"}), indent="  ")
        if check.items:
            keys = list(dict.fromkeys(key for item in check.items for key in item))
            terminal.print_table(keys, ([item.get(k) for k in keys] for item in check.items))


@app.command("reconcile")
def reconcile_command(
    venue: Annotated[
        str | None,
        typer.Argument(help="maitred's venue id; every POS-linked venue when omitted."),
    ] = None,
) -> None:
    """Pull the POS's open and recently closed orders and apply what maitred missed."""

    async def main(runtime: Runtime) -> list[ReconcileReport]:
        if venue is not None:
            return [await reconcile_venue(runtime, venue)]
        return await reconcile_all(runtime)

    reports = run_async(main)
    terminal.print_table(
        (
            "venue",
            "seen",
            "created",
            "updated",
            "unchanged",
            "looked up",
            "errors",
            "correlation id",
        ),
        (
            (
                r.venue_id,
                r.seen,
                r.created,
                r.updated,
                r.unchanged,
                r.looked_up,
                len(r.errors),
                r.correlation_id,
            )
            for r in reports
        ),
    )
    errors = [f"{r.venue_id}: {error}" for r in reports for error in r.errors]
    if errors:
        terminal.error(*errors)
        raise typer.Exit(1)
