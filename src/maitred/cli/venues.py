"""`maitred venues …` commands: list, show, set, delete, capabilities."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from maitred import terminal
from maitred.cli.apply import print_change
from maitred.commands import read, with_runtime
from maitred.errors import NotFound
from maitred.runtime import Runtime
from maitred.venues import service
from maitred.venues.schemas import ROLES, VenueSpec

app = typer.Typer(help="venues", no_args_is_help=True)
# What `set` keeps from the stored venue when an option is not given.
_KEPT = {"name", "timezone", "seating_statuses", "reject_unknown_skus", "currency", *ROLES}


@app.command("list")
def list_command() -> None:
    """List venues with the partner serving each role."""
    venues = with_runtime(lambda rt: read(rt, service.list_venues))
    rows = []
    for v in venues:
        links = [getattr(v, role) for role in ROLES]
        shown = [f"{link.partner}: {link.venue_id}" if link else None for link in links]
        rows.append((v.id, v.name, v.timezone, v.seating_statuses, v.reject_unknown_skus, *shown))
    columns = ("id", "name", "timezone", "seating statuses", "reject unknown SKUs", *ROLES)
    terminal.print_table(columns, rows, title="Venues")


@app.command("show")
def show(venue_id: str) -> None:
    """Show one venue with its settings and links."""
    venue = with_runtime(lambda rt: read(rt, lambda s: service.get_venue(s, venue_id)))
    terminal.print_fields(venue.model_dump())


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
    seating_status: Annotated[
        list[str] | None,
        typer.Option(
            help="A reservation status that opens a POS order (repeatable; replaces the list)."
        ),
    ] = None,
    reject_unknown_skus: Annotated[
        bool | None,
        typer.Option(
            "--reject-unknown-skus/--accept-unknown-skus",
            help="A POS's 422 Unknown SKU(s) fails the order / opens it without those items.",
        ),
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="ISO-4217 code the venue prices in (channel orders).")
    ] = None,
) -> None:
    """Create a venue, or change the given fields and roles of an existing one (the others are
    kept)."""
    given: dict[str, Any] = {
        "name": name,
        "timezone": timezone,
        "seating_statuses": seating_status or None,
        "reject_unknown_skus": reject_unknown_skus,
        "currency": currency,
    }
    given = {k: v for k, v in given.items() if v is not None}
    for value in link or []:
        role, partner, external = _parse_link(value)
        given[role] = {"partner": partner, "venue_id": external}

    def job(runtime: Runtime) -> Any:
        fields = _merged(runtime, venue_id, given)
        for role in unlink or []:
            fields.pop(role, None)
        spec = VenueSpec(id=venue_id, **fields)
        return runtime.writer.run_sync(lambda s: service.upsert_venue(s, spec))

    print_change(with_runtime(job))


@app.command("delete")
def delete(venue_id: str) -> None:
    """Delete a venue with its links and tables."""
    change = with_runtime(
        lambda rt: rt.writer.run_sync(lambda s: service.delete_venue(s, venue_id))
    )
    terminal.line("venue", change.id, change.action)


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
    stored = current.model_dump(include=_KEPT, exclude_none=True)
    return {**stored, **given}


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
        terminal.line(f"{done[0]} capability record(s) reset, {done[1]} held change(s) sent")
    report = with_runtime(lambda rt: read(rt, lambda s: capabilities.report(s, venue_id)))
    table = terminal.table(
        "partner",
        "role",
        "feature",
        "call",
        "state",
        "evidence",
        title=f"Capabilities of {venue_id}",
    )
    colours = {"supported": "green", "missing": "red", "unknown": "dim"}
    for item in report.capabilities:
        state = terminal.styled(item.state, colours[item.state])
        table.add_row(item.partner_id, item.role, item.feature, item.call, state, item.reason or "")
    terminal.console().print(table)
