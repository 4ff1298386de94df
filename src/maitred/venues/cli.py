"""`maitred venues …` commands: list, show, set, delete."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from maitred.errors import NotFound
from maitred.partners.cli import console, print_record, read, with_runtime
from maitred.runtime import Runtime
from maitred.venues import service
from maitred.venues.schemas import ROLES, LinkSpec, VenueRead, VenueSpec

app = typer.Typer(help="venues", no_args_is_help=True)


@app.command("list")
def list_command() -> None:
    """List venues with the partner serving each role."""
    venues = with_runtime(lambda rt: read(rt, service.list_venues))
    table = Table(title="Venues")
    for column in ("id", "name", "timezone", *ROLES):
        table.add_column(column)
    for v in venues:
        links = [f"{link.partner}: {link.venue_id}" if link else "" for link in _roles(v)]
        table.add_row(v.id, v.name or "", v.timezone, *links)
    console.print(table)


@app.command("show")
def show(venue_id: str) -> None:
    """Show one venue with its links."""
    print_record(with_runtime(lambda rt: read(rt, lambda s: service.get_venue(s, venue_id))))


@app.command("set")
def set_command(
    venue_id: str,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA name, e.g. Europe/Madrid.")] = None,
    link: Annotated[
        list[str] | None,
        typer.Option(help="ROLE:PARTNER:PARTNER_VENUE_ID, e.g. rms:acme-rms:v-1 (repeatable)."),
    ] = None,
    unlink: Annotated[list[str] | None, typer.Option(help="ROLE to unlink (repeatable).")] = None,
) -> None:
    """Create a venue, or change the given fields and roles of an existing one."""
    given: dict[str, Any] = {"name": name, "timezone": timezone}
    given = {k: v for k, v in given.items() if v is not None}
    for value in link or []:
        role, partner, external = _parse_link(value)
        given[role] = {"partner": partner, "venue_id": external}

    def job(runtime: Runtime) -> str:
        fields = _merged(runtime, venue_id, given)
        for role in unlink or []:
            fields.pop(role, None)
        spec = VenueSpec(id=venue_id, **fields)
        change = runtime.writer.run_sync(lambda s: service.upsert_venue(s, spec))
        return f"venue {venue_id} {change.action}"

    typer.echo(with_runtime(job))


@app.command("delete")
def delete(venue_id: str) -> None:
    """Delete a venue with its links and tables."""
    change = with_runtime(
        lambda rt: rt.writer.run_sync(lambda s: service.delete_venue(s, venue_id))
    )
    typer.echo(f"venue {change.id} {change.action}")


def _parse_link(value: str) -> tuple[str, str, str]:
    role, _, rest = value.partition(":")
    partner, _, external = rest.partition(":")
    if role not in ROLES or not partner or not external:
        raise typer.BadParameter(
            f"{value!r}: expected ROLE:PARTNER:PARTNER_VENUE_ID", param_hint="--link"
        )
    return role, partner, external


def _merged(runtime: Runtime, venue_id: str, given: dict[str, Any]) -> dict[str, Any]:
    """The stored venue overlaid with `given`."""
    try:
        current = read(runtime, lambda s: service.get_venue(s, venue_id))
    except NotFound:
        return given
    stored = current.model_dump(include={"name", "timezone", *ROLES}, exclude_none=True)
    return {**stored, **given}


def _roles(venue: VenueRead) -> list[LinkSpec | None]:
    return [getattr(venue, role) for role in ROLES]


@app.command("capabilities")
def capabilities_command(
    venue_id: str,
    reset: Annotated[
        bool, typer.Option("--reset", help="Forget the evidence so maitred calls again.")
    ] = False,
    feature: Annotated[
        str | None, typer.Option(help="With --reset: only this feature, e.g. orders.update.")
    ] = None,
) -> None:
    """What each partner's API at the venue was shown to support (decisions 4 and 15)."""
    from maitred.capabilities import service as capabilities
    from maitred.orders import pos_calls

    if reset:
        done = with_runtime(
            lambda rt: rt.writer.run_sync(
                lambda s: pos_calls.reset_capability(s, venue_id=venue_id, feature=feature)
            )
        )
        typer.echo(f"{done[0]} capability record(s) reset, {done[1]} held change(s) sent")
    report = with_runtime(lambda rt: read(rt, lambda s: capabilities.report(s, venue_id)))
    table = Table(title=f"Capabilities of {venue_id}")
    for column in ("partner", "role", "feature", "call", "state", "evidence"):
        table.add_column(column)
    colours = {"supported": "green", "missing": "red", "unknown": "dim"}
    for item in report.capabilities:
        state = f"[{colours[item.state]}]{item.state}[/]"
        table.add_row(item.partner_id, item.role, item.feature, item.call, state, item.reason or "")
    console.print(table)
