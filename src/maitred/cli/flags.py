"""`maitred flags …`: what needs a person — list, resolve, acknowledge."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from maitred import terminal
from maitred.commands import read, with_runtime
from maitred.flags import service
from maitred.flags.schemas import FlagRead

app = typer.Typer(help="Flags: what maitred could not settle alone.")


@app.callback(invoke_without_command=True)
def _default(context: typer.Context) -> None:
    """`maitred flags` alone lists the open flags."""
    if context.invoked_subcommand is None:
        list_command()


@app.command("list")
def list_command(
    venue: Annotated[str | None, typer.Option(help="Only this venue's.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. booking.held.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """Open flags (or all of them), newest first."""

    def query(session: Session) -> list[FlagRead]:
        rows = service.list_flags(
            session, venue_id=venue, kind=kind, include_resolved=all_, limit=limit
        )
        return [FlagRead.of(row) for row in rows]

    rows = with_runtime(lambda rt: read(rt, query))
    terminal.print_table(
        ("id", "venue", "kind", "subject", "raised", "state", "message"),
        (
            (f.id, f.venue_id, f.kind, f.subject, f.created_at.isoformat(timespec="seconds"),
             _state(f), f.message)
            for f in rows
        ),
        title="Flags" if all_ else "Open flags",
    )  # fmt: skip


def _state(flag: FlagRead) -> str:
    if flag.resolved_at is not None:
        return f"resolved by {flag.resolved_by or '-'}"
    return "acknowledged" if flag.acknowledged_at is not None else "open"


FlagOpt = Annotated[
    int | None, typer.Argument(help="The flag's id (see `maitred flags list`).", show_default=False)
]
VenueOpt = Annotated[str | None, typer.Option(help="With --kind: only this venue's.")]
KindOpt = Annotated[
    str | None, typer.Option(help="Instead of an id: every open flag of this kind.")
]


def _chosen(flag_id: int | None, kind: str | None) -> None:
    if (flag_id is None) == (kind is None):
        typer.echo("give a flag id or --kind (with --venue to keep to one venue)", err=True)
        raise typer.Exit(2)


@app.command("resolve")
def resolve_command(
    flag_id: FlagOpt = None,
    kind: KindOpt = None,
    venue: VenueOpt = None,
    note: Annotated[str | None, typer.Option(help="Why (kept with the flag).")] = None,
) -> None:
    """Resolve a flag, or every open flag of a kind: you settled it (resolving a resolved one
    changes nothing)."""
    _chosen(flag_id, kind)

    def job(session: Session) -> list[FlagRead]:
        if flag_id is not None:
            return [FlagRead.of(service.resolve_one(session, flag_id, note=note))]
        assert kind is not None
        found = service.resolve_matching(session, venue_id=venue, kind=kind, note=note)
        return [FlagRead.of(flag) for flag in found]

    _report(with_runtime(lambda rt: rt.writer.run_sync(job)), kind)


@app.command("ack")
def ack_command(flag_id: FlagOpt = None, kind: KindOpt = None, venue: VenueOpt = None) -> None:
    """Acknowledge a flag, or every open flag of a kind: seen, stays open until settled or
    resolved."""
    _chosen(flag_id, kind)

    def job(session: Session) -> list[FlagRead]:
        if flag_id is not None:
            return [FlagRead.of(service.acknowledge(session, flag_id))]
        assert kind is not None
        return [
            FlagRead.of(flag)
            for flag in service.acknowledge_matching(session, venue_id=venue, kind=kind)
        ]

    _report(with_runtime(lambda rt: rt.writer.run_sync(job)), kind)


def _report(flags: list[FlagRead], kind: str | None) -> None:
    if not flags:
        terminal.line(f"no open {kind} flag")
    for flag in flags:
        terminal.line(f"flag {flag.id} ({flag.kind} {flag.subject}): {_state(flag)}")
