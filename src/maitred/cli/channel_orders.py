"""`maitred channel-orders …`: a venue's channel orders, and one order with its trace."""

from __future__ import annotations

from typing import Annotated

import typer

from maitred import terminal
from maitred.channel_orders import queries
from maitred.channel_orders.queries import ChannelOrderDetail
from maitred.channel_orders.rules import ChannelOrderStatus
from maitred.commands import read, with_runtime

app = typer.Typer(help="Channel orders (online ordering through the POS).", no_args_is_help=True)


def _money(amount: int | None, currency: str) -> str:
    return "" if amount is None else f"{amount} {currency}"


@app.command("list")
def list_command(
    venue: Annotated[str, typer.Argument(help="maitred's venue id.")],
    status: Annotated[
        ChannelOrderStatus | None, typer.Option(help="Only orders in this status.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The venue's channel orders, newest first."""
    page = with_runtime(
        lambda rt: read(rt, lambda s: queries.list_orders(s, venue, status=status, limit=limit))
    )
    terminal.print_table(
        ("order", "channel", "POS", "reference", "status", "total", "errors", "created"),
        (
            (
                o.id,
                o.channel_partner_id,
                o.pos_partner_id,
                o.external_reference_id or "",
                o.status.name,
                _money(o.total, o.currency),
                "; ".join(f"{e.code}: {e.message}" for e in o.errors),
                o.created_at.isoformat(timespec="seconds"),
            )
            for o in page.items
        ),
    )


@app.command("show")
def show(order: Annotated[str, typer.Argument(help="The order's id.")]) -> None:
    """One channel order with its trace, oldest report first."""
    found: ChannelOrderDetail = with_runtime(
        lambda rt: read(rt, lambda s: queries.get_order(s, order))
    )
    fields = found.model_dump(exclude={"cart", "priced", "customer", "events", "errors"})
    fields["status"] = found.status.name
    fields["errors"] = "; ".join(f"{e.code}: {e.message}" for e in found.errors)
    terminal.print_fields(fields)
    terminal.line("")
    terminal.line("trace", style="bold")
    terminal.print_table(
        ("#", "at", "source", "leg", "reported", "verdict", "status", "reason"),
        (
            (
                e.seq,
                e.at.isoformat(timespec="milliseconds"),
                e.source,
                e.leg or "",
                e.reported_status or "",
                e.verdict,
                f"{e.status_before} → {e.status_after}",
                e.reason + "".join(f" [{x.code}: {x.message}]" for x in e.errors),
            )
            for e in found.events
        ),
    )
