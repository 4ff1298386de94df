"""`maitred partners …` commands: list, show, set, delete (no command prints a secret)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from maitred import terminal
from maitred.cli.apply import print_change
from maitred.commands import read, with_runtime
from maitred.errors import NotFound
from maitred.netguard import NetPolicy
from maitred.partners import service
from maitred.partners.schemas import PartnerSpec
from maitred.runtime import Runtime

app = typer.Typer(help="partners", no_args_is_help=True)


@app.command("list")
def list_command() -> None:
    """List partners (secrets show only as yes/no)."""
    partners = with_runtime(lambda rt: read(rt, service.list_partners))
    terminal.print_table(
        ("id", "kind", "contract", "name", "base url", "webhook url", "key", "token", "signing"),
        (
            (
                p.id,
                p.kind,
                p.contract,
                p.name,
                p.base_url,
                p.webhook_url,
                p.has_api_key,
                p.has_token,
                p.has_signing_secret,
            )
            for p in partners
        ),
        title="Partners",
    )


@app.command("show")
def show(partner_id: str) -> None:
    """Show one partner (without secrets)."""
    partner = with_runtime(lambda rt: read(rt, lambda s: service.get_partner(s, partner_id)))
    terminal.print_fields(partner.model_dump())


@app.command("set")
def set_command(
    partner_id: str,
    kind: Annotated[
        str | None, typer.Option(help="rms, pos or channel (required to create).")
    ] = None,
    contract: Annotated[
        str | None, typer.Option(help="The API the partner speaks (mozrest when never set).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    api_key: Annotated[
        str | None, typer.Option(help="Key the partner presents (Bearer, 16+ characters).")
    ] = None,
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
        "contract": contract,
        "name": name,
        "api_key": api_key,
        "base_url": base_url,
        "token": token,
        "webhook_url": webhook_url,
        "signing_secret": signing_secret,
    }

    def job(runtime: Runtime) -> Any:
        fields = _merged(runtime, partner_id, {k: v for k, v in given.items() if v is not None})
        spec = PartnerSpec(id=partner_id, **fields)
        service.check_urls(spec, NetPolicy.from_settings(runtime.settings))
        box = runtime.secrets
        return runtime.writer.run_sync(lambda s: service.upsert_partner(s, spec, box))

    print_change(with_runtime(job))


def _merged(runtime: Runtime, partner_id: str, given: dict[str, Any]) -> dict[str, Any]:
    """The stored plain fields overlaid with `given`; secrets not given are kept by the upsert."""
    try:
        current = read(runtime, lambda s: service.get_partner(s, partner_id))
    except NotFound:
        return given
    plain = current.model_dump(include={"kind", "contract", "name", "base_url", "webhook_url"})
    return {**plain, **given}


@app.command("delete")
def delete(partner_id: str) -> None:
    """Delete a partner with its venue links and deliveries."""
    change = with_runtime(
        lambda rt: rt.writer.run_sync(lambda s: service.delete_partner(s, partner_id))
    )
    terminal.line("partner", change.id, change.action)
