"""`maitred deliveries …` commands (and `ping_command`, registered as `maitred partners ping`)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from maitred import terminal
from maitred.commands import read, with_runtime
from maitred.deliveries import queries, service
from maitred.deliveries.models import State
from maitred.partners import ping

app = typer.Typer(help="deliveries", no_args_is_help=True)


@app.command("list")
def list_command(
    state: Annotated[State | None, typer.Option(help="Only this state.")] = None,
    partner: Annotated[str | None, typer.Option(help="Only this partner's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """List deliveries."""
    rows = with_runtime(
        lambda rt: read(
            rt, lambda s: queries.list_deliveries(s, state=state, partner_id=partner, limit=limit)
        )
    )
    terminal.print_table(
        ("id", "message id", "partner", "kind", "state", "attempts", "last", "next"),
        (
            (
                d.id,
                d.message_id,
                d.partner_id,
                d.kind,
                d.state,
                d.attempt_count,
                d.last_status or d.last_error,
                d.next_attempt_at.isoformat(timespec="seconds"),
            )
            for d in rows
        ),
        title="Deliveries",
    )


@app.command("show")
def show_command(delivery_id: int) -> None:
    """Show one delivery with its attempts."""
    d = with_runtime(lambda rt: read(rt, lambda s: queries.get_delivery(s, delivery_id)))
    terminal.line(d.id, d.message_id, d.kind, "→", d.url, style="bold")
    terminal.line(f"state {d.state}, {d.attempt_count} attempts, correlation {d.correlation_id}")
    terminal.line(d.body)
    terminal.print_table(
        ("#", "started", "ms", "status", "error", "worker", "response"),
        (
            (
                a.number,
                a.started_at.isoformat(timespec="milliseconds"),
                f"{a.duration_ms:.0f}",
                a.status_code,
                a.error_class,
                a.worker_id,
                (a.response_body or "")[:60],
            )
            for a in d.attempts
        ),
        title="Attempts",
    )


@app.command("replay")
def replay_command(
    delivery_id: Annotated[int | None, typer.Argument(help="The delivery to replay.")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Every failed one.")] = False,
    partner: Annotated[str | None, typer.Option(help="With --all-failed: one partner's.")] = None,
) -> None:
    """Put failed deliveries back in the queue (same message ids)."""
    if all_failed == (delivery_id is not None):
        terminal.error("give a delivery id or --all-failed")
        raise typer.Exit(2)
    if delivery_id is not None:
        with_runtime(lambda rt: rt.writer.run_sync(lambda s: service.replay(s, delivery_id)))
        terminal.line(f"delivery {delivery_id} queued again")
        return
    count = with_runtime(
        lambda rt: rt.writer.run_sync(lambda s: service.replay_failed(s, partner_id=partner))
    )
    terminal.line(f"{count} deliveries queued again")


@app.command("endpoints")
def endpoints_command() -> None:
    """Show every endpoint's health."""
    rows = with_runtime(lambda rt: read(rt, queries.list_endpoints))
    terminal.print_table(
        ("id", "partner", "name", "url", "status", "failures", "pending", "last error"),
        (
            (
                e.id,
                e.partner_id,
                e.name,
                e.url,
                _health(e.disabled_at, e.circuit_open_until),
                str(e.consecutive_failures),
                str(e.pending),
                e.last_error,
            )
            for e in rows
        ),
        title="Endpoints",
    )


def _health(disabled_at: object, circuit_open_until: object) -> str:
    return "disabled" if disabled_at else ("open" if circuit_open_until else "ok")


@app.command("enable")
def enable_command(endpoint_id: int) -> None:
    """Re-enable an endpoint and close its circuit."""
    with_runtime(lambda rt: rt.writer.run_sync(lambda s: service.enable_endpoint(s, endpoint_id)))
    terminal.line(f"endpoint {endpoint_id} enabled")


def ping_command(partner_id: str) -> None:
    """Send a signed test event to a partner's webhook."""

    def job(session: Session) -> tuple[int, str]:
        delivery_id = ping.enqueue_ping(session, partner_id=partner_id)
        return delivery_id, queries.message_id(session, delivery_id)

    delivery_id, message_id = with_runtime(lambda rt: rt.writer.run_sync(job))
    terminal.line(f"ping queued: delivery {delivery_id}, webhook-id {message_id}")
