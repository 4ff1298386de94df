"""`maitred deliveries …` commands (and `ping_command`, registered as `maitred partners ping`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from maitred.config import get_settings
from maitred.deliveries import ping, queries, service
from maitred.errors import MaitredError
from maitred.runtime import Runtime

app = typer.Typer(help="deliveries", no_args_is_help=True)
T = TypeVar("T")


def console() -> Console:
    """A console sized for the current terminal."""
    return Console()


def _with_runtime(job: Callable[[Runtime], T]) -> T:
    """Run `job` against a runtime built from the environment; errors become exit code 1."""
    runtime = Runtime.build(get_settings())
    try:
        return job(runtime)
    except MaitredError as exc:
        console().print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    finally:
        runtime.writer.stop()
        runtime.db.dispose()


def _read(runtime: Runtime, fn: Callable[[Session], T]) -> T:
    with runtime.db.read_sessions() as session:
        return fn(session)


@app.command("list")
def list_command(
    state: Annotated[str | None, typer.Option(help="pending, inflight, delivered, failed…")] = None,
    partner: Annotated[str | None, typer.Option(help="Only this partner's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """List deliveries."""
    rows = _with_runtime(
        lambda rt: _read(
            rt, lambda s: queries.list_deliveries(s, state=state, partner_id=partner, limit=limit)
        )
    )
    table = Table(title="Deliveries")
    for column in ("id", "message id", "partner", "kind", "state", "attempts", "last", "next"):
        table.add_column(column)
    for d in rows:
        last = str(d.last_status or d.last_error or "")
        table.add_row(
            str(d.id), d.message_id, d.partner_id, d.kind, d.state,
            str(d.attempt_count), last, d.next_attempt_at.isoformat(timespec="seconds"),
        )  # fmt: skip
    console().print(table)


@app.command("show")
def show_command(delivery_id: int) -> None:
    """Show one delivery with its attempts."""
    d = _with_runtime(lambda rt: _read(rt, lambda s: queries.get_delivery(s, delivery_id)))
    console().print(f"[bold]{d.id}[/bold] {d.message_id} {d.kind} → {d.url}")
    console().print(f"state {d.state}, {d.attempt_count} attempts, correlation {d.correlation_id}")
    console().print(d.body, markup=False, highlight=False)
    table = Table(title="Attempts")
    for column in ("#", "started", "ms", "status", "error", "worker", "response"):
        table.add_column(column)
    for a in d.attempts:
        table.add_row(
            str(a.number), a.started_at.isoformat(timespec="milliseconds"),
            f"{a.duration_ms:.0f}", str(a.status_code or ""), a.error_class or "",
            a.worker_id, (a.response_body or "")[:60],
        )  # fmt: skip
    console().print(table)


@app.command("replay")
def replay_command(
    delivery_id: Annotated[int | None, typer.Argument(help="The delivery to replay.")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Every failed one.")] = False,
    partner: Annotated[str | None, typer.Option(help="With --all-failed: one partner's.")] = None,
) -> None:
    """Put failed deliveries back in the queue (same message ids)."""
    if all_failed == (delivery_id is not None):
        console().print("give a delivery id or --all-failed")
        raise typer.Exit(2)
    if delivery_id is not None:
        _with_runtime(lambda rt: rt.writer.run_sync(lambda s: service.replay(s, delivery_id)))
        console().print(f"delivery {delivery_id} queued again")
        return
    count = _with_runtime(
        lambda rt: rt.writer.run_sync(lambda s: service.replay_failed(s, partner_id=partner))
    )
    console().print(f"{count} deliveries queued again")


@app.command("endpoints")
def endpoints_command() -> None:
    """Show every endpoint's health."""
    rows = _with_runtime(lambda rt: _read(rt, queries.list_endpoints))
    table = Table(title="Endpoints")
    for column in ("id", "partner", "name", "url", "status", "failures", "pending", "last error"):
        table.add_column(column)
    for e in rows:
        status = "disabled" if e.disabled_at else ("open" if e.circuit_open_until else "ok")
        table.add_row(
            str(e.id), e.partner_id, e.name, e.url, status,
            str(e.consecutive_failures), str(e.pending), e.last_error or "",
        )  # fmt: skip
    console().print(table)


@app.command("enable")
def enable_command(endpoint_id: int) -> None:
    """Re-enable an endpoint and close its circuit."""
    _with_runtime(lambda rt: rt.writer.run_sync(lambda s: service.enable_endpoint(s, endpoint_id)))
    console().print(f"endpoint {endpoint_id} enabled")


def ping_command(partner_id: str) -> None:
    """Send a signed test event to a partner's webhook."""

    def job(session: Session) -> tuple[int, str]:
        delivery_id = ping.enqueue_ping(session, partner_id=partner_id)
        return delivery_id, queries.message_id(session, delivery_id)

    delivery_id, message_id = _with_runtime(lambda rt: rt.writer.run_sync(job))
    console().print(f"ping queued: delivery {delivery_id}, webhook-id {message_id}")
