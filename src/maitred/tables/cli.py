"""`maitred tables …`: review, refresh and edit a venue's RMS↔POS table mapping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from maitred.config import get_settings
from maitred.errors import MaitredError
from maitred.runtime import Runtime
from maitred.tables import service
from maitred.tables.schemas import MappingRead, MappingsView, RefreshReport, TableRead

T = TypeVar("T")

app = typer.Typer(help="RMS↔POS table mapping of a venue.", no_args_is_help=True)
console = Console()

VenueArg = Annotated[str, typer.Argument(help="maitred's venue id.")]
RmsArg = Annotated[str, typer.Argument(help="The RMS's table id.")]
PosArg = Annotated[str, typer.Argument(help="The POS's table id.")]


def _run(fn: Callable[[Runtime], Awaitable[T]]) -> T:
    async def main() -> T:
        runtime = Runtime.build(get_settings())
        try:
            return await fn(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except MaitredError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc


@app.command()
def show(venue: VenueArg) -> None:
    """Show mappings (with state and confidence), suggestions, stale and unmapped tables."""

    async def read(runtime: Runtime) -> MappingsView:
        with runtime.db.read_sessions() as session:
            return service.mappings(session, venue)

    _print_view(_run(read))


@app.command()
def refresh(venue: VenueArg) -> None:
    """Fetch both partners' table listings and re-run matching."""
    _print_report(_run(lambda runtime: service.refresh(runtime, venue)))


@app.command("map")
def map_table(venue: VenueArg, rms_table: RmsArg, pos_table: PosArg) -> None:
    """Map an RMS table to a POS table (confirmed; replaces any other mapping)."""

    def job(session: Session) -> MappingRead:
        return service.confirm(
            session, venue_id=venue, rms_table_id=rms_table, pos_table_id=pos_table
        )

    mapping = _run(lambda runtime: runtime.writer.run(job))
    console.print(f"mapped RMS {mapping.rms_table_id} → POS {mapping.pos_table_id} (confirmed)")


@app.command()
def unmap(venue: VenueArg, rms_table: RmsArg) -> None:
    """Remove an RMS table's mapping."""

    def job(session: Session) -> MappingRead:
        return service.unmap(session, venue_id=venue, rms_table_id=rms_table)

    mapping = _run(lambda runtime: runtime.writer.run(job))
    console.print(f"unmapped RMS {mapping.rms_table_id} (was POS {mapping.pos_table_id})")


def _mapping_table(title: str, rows: list[MappingRead]) -> Table:
    table = Table(title=title)
    for column in ("RMS table", "POS table", "state", "confidence", "reason", "stale"):
        table.add_column(column)
    for m in rows:
        stale = (m.stale_reason or "stale") if m.stale else ""
        table.add_row(
            m.rms_table_id, m.pos_table_id, m.state, f"{m.confidence:.2f}", m.reason, stale
        )
    return table


def _tables_table(title: str, rows: list[TableRead]) -> Table:
    table = Table(title=title)
    for column in ("id", "name", "area"):
        table.add_column(column)
    for t in rows:
        table.add_row(t.id, t.name, t.area or "")
    return table


def _print_view(view: MappingsView) -> None:
    console.print(_mapping_table(f"Mappings of {view.venue_id}", view.mappings))
    console.print(_mapping_table("Suggestions", view.suggestions))
    console.print(_mapping_table("Stale", view.stale))
    console.print(_tables_table("Unmapped RMS tables", view.unmapped_rms))
    console.print(_tables_table("Unmapped POS tables", view.unmapped_pos))


def _print_report(report: RefreshReport) -> None:
    for label, side in (("RMS", report.rms), ("POS", report.pos)):
        console.print(
            f"{label}: {side.count} listed, added {side.added or '-'}, gone {side.gone or '-'}, "
            f"returned {side.returned or '-'}"
        )
        for r in side.renamed:
            console.print(f"  renamed {r.id}: {r.old_name!r} → {r.new_name!r}")
    console.print(_mapping_table("Applied automatically", report.auto_applied))
    console.print(_mapping_table("Suggestions", report.suggestions))
    console.print(_mapping_table("Newly stale", report.stale))
    if report.recovered:
        console.print(_mapping_table("Recovered", report.recovered))
