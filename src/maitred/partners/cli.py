"""`maitred partners …` commands: list, show, set, delete (no command prints a secret)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from maitred.config import get_settings
from maitred.errors import BadRequest, MaitredError, NotFound
from maitred.netguard import NetPolicy
from maitred.partners import service
from maitred.partners.schemas import PartnerSpec
from maitred.runtime import Runtime

app = typer.Typer(help="partners", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def with_runtime(job: Callable[[Runtime], T]) -> T:
    """Run `job` on a runtime built from the environment; refused input exits 2, other errors 1."""
    runtime = Runtime.build(get_settings())
    try:
        return job(runtime)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            typer.echo(f"{field}: {error['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from exc
    except MaitredError as exc:
        typer.echo(exc.message, err=True)
        for field, entries in exc.details.items():
            for messages in entries:
                typer.echo(
                    f"{field}: {'; '.join(m for ms in messages.values() for m in ms)}", err=True
                )
        raise typer.Exit(2 if isinstance(exc, BadRequest) else 1) from exc
    finally:
        runtime.writer.stop()
        runtime.db.dispose()


def read(runtime: Runtime, fn: Callable[[Session], T]) -> T:
    """Run a read-only query on a fresh session."""
    with runtime.db.read_sessions() as session:
        return fn(session)


def print_record(record: BaseModel) -> None:
    """One record as `field: value` lines."""
    for field, value in record.model_dump(mode="json", exclude_none=False).items():
        console.print(f"[bold]{field}[/]: {value if value is not None else '-'}")


@app.command("list")
def list_command() -> None:
    """List partners (secrets show only as yes/no)."""
    partners = with_runtime(lambda rt: read(rt, service.list_partners))
    table = Table(title="Partners")
    for column in ("id", "kind", "name", "base url", "webhook url", "key", "token", "signing"):
        table.add_column(column)
    for p in partners:
        flags = [_yes(p.has_api_key), _yes(p.has_token), _yes(p.has_signing_secret)]
        table.add_row(p.id, p.kind, p.name or "", p.base_url or "", p.webhook_url or "", *flags)
    console.print(table)


@app.command("show")
def show(partner_id: str) -> None:
    """Show one partner (without secrets)."""
    print_record(with_runtime(lambda rt: read(rt, lambda s: service.get_partner(s, partner_id))))


@app.command("set")
def set_command(
    partner_id: str,
    kind: Annotated[
        str | None, typer.Option(help="rms, pos or channel (required to create).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    api_key: Annotated[str | None, typer.Option(help="Key the partner presents (Bearer).")] = None,
    base_url: Annotated[str | None, typer.Option(help="The partner's own API.")] = None,
    token: Annotated[str | None, typer.Option(help="Token maitred presents to it.")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="Where its webhooks go.")] = None,
    signing_secret: Annotated[
        str | None, typer.Option(help="whsec_… (generated if unset).")
    ] = None,
) -> None:
    """Create a partner, or change the given fields of an existing one (others are kept)."""
    given = {
        "kind": kind,
        "name": name,
        "api_key": api_key,
        "base_url": base_url,
        "token": token,
        "webhook_url": webhook_url,
        "signing_secret": signing_secret,
    }

    def job(runtime: Runtime) -> str:
        fields = _merged(runtime, partner_id, {k: v for k, v in given.items() if v is not None})
        spec = PartnerSpec(id=partner_id, **fields)
        service.check_urls(spec, NetPolicy.from_settings(runtime.settings))
        box = runtime.secrets
        change = runtime.writer.run_sync(lambda s: service.upsert_partner(s, spec, box))
        return f"partner {partner_id} {change.action}"

    typer.echo(with_runtime(job))


def _merged(runtime: Runtime, partner_id: str, given: dict[str, Any]) -> dict[str, Any]:
    """The stored plain fields overlaid with `given`; secrets not given are kept by the upsert."""
    try:
        current = read(runtime, lambda s: service.get_partner(s, partner_id))
    except NotFound:
        return given
    plain = current.model_dump(include={"kind", "name", "base_url", "webhook_url"})
    return {**plain, **given}


@app.command("delete")
def delete(partner_id: str) -> None:
    """Delete a partner with its venue links and deliveries."""
    change = with_runtime(
        lambda rt: rt.writer.run_sync(lambda s: service.delete_partner(s, partner_id))
    )
    typer.echo(f"partner {change.id} {change.action}")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
