"""`maitred tables …`: review, refresh and edit a venue's RMS↔POS table mapping."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from maitred import terminal
from maitred.commands import run_async
from maitred.flows import tables as tables_flow
from maitred.runtime import Runtime
from maitred.tables import service
from maitred.tables.schemas import MappingRead, MappingsView, RefreshReport, TableRead

app = typer.Typer(help="RMS↔POS table mapping of a venue.", no_args_is_help=True)

VenueArg = Annotated[str, typer.Argument(help="maitred's venue id.")]
RmsArg = Annotated[str, typer.Argument(help="The RMS's table id.")]
PosArg = Annotated[str, typer.Argument(help="The POS's table id.")]


@app.command()
def show(venue: VenueArg) -> None:
    """Show mappings (with state and confidence), suggestions, stale and unmapped tables."""

    async def read(runtime: Runtime) -> MappingsView:
        with runtime.db.read_sessions() as session:
            return service.mappings(session, venue)

    _print_view(run_async(read))


@app.command()
def refresh(venue: VenueArg) -> None:
    """Fetch both partners' table listings and re-run matching."""
    _print_report(run_async(lambda runtime: tables_flow.refresh(runtime, venue)))


@app.command("map")
def map_table(venue: VenueArg, rms_table: RmsArg, pos_table: PosArg) -> None:
    """Map an RMS table to a POS table (confirmed; replaces any other mapping)."""

    def job(session: Session) -> MappingRead:
        return service.confirm(
            session, venue_id=venue, rms_table_id=rms_table, pos_table_id=pos_table
        )

    mapping = run_async(lambda runtime: runtime.writer.run(job))
    terminal.line(f"mapped RMS {mapping.rms_table_id} → POS {mapping.pos_table_id} (confirmed)")


@app.command()
def unmap(venue: VenueArg, rms_table: RmsArg) -> None:
    """Remove an RMS table's mapping."""

    def job(session: Session) -> MappingRead:
        return service.unmap(session, venue_id=venue, rms_table_id=rms_table)

    mapping = run_async(lambda runtime: runtime.writer.run(job))
    terminal.line(f"unmapped RMS {mapping.rms_table_id} (was POS {mapping.pos_table_id})")


def _mapping_table(title: str, rows: list[MappingRead]) -> Table:
    table = terminal.table(
        "RMS table", "POS table", "state", "confidence", "reason", "stale", title=title
    )
    for m in rows:
        stale = (m.stale_reason or "stale") if m.stale else ""
        table.add_row(
            m.rms_table_id, m.pos_table_id, m.state, f"{m.confidence:.2f}", m.reason, stale
        )
    return table


def _tables_table(title: str, rows: list[TableRead]) -> Table:
    table = terminal.table("id", "name", "area", title=title)
    for t in rows:
        table.add_row(t.id, t.name, t.area or "")
    return table


def _print_view(view: MappingsView) -> None:
    terminal.console().print(_mapping_table(f"Mappings of {view.venue_id}", view.mappings))
    terminal.console().print(_mapping_table("Suggestions", view.suggestions))
    terminal.console().print(_mapping_table("Stale", view.stale))
    terminal.console().print(_tables_table("Unmapped RMS tables", view.unmapped_rms))
    terminal.console().print(_tables_table("Unmapped POS tables", view.unmapped_pos))


def _print_report(report: RefreshReport) -> None:
    for label, side in (("RMS", report.rms), ("POS", report.pos)):
        terminal.line(
            f"{label}: {side.count} listed, added {terminal.show(side.added)}, gone "
            f"{terminal.show(side.gone)}, returned {terminal.show(side.returned)}"
        )
        for r in side.renamed:
            terminal.line(f"  renamed {r.id}: {r.old_name!r} → {r.new_name!r}")
    terminal.console().print(_mapping_table("Applied automatically", report.auto_applied))
    terminal.console().print(_mapping_table("Suggestions", report.suggestions))
    terminal.console().print(_mapping_table("Newly stale", report.stale))
    if report.recovered:
        terminal.console().print(_mapping_table("Recovered", report.recovered))
