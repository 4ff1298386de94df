"""The `maitred` command: serve, worker, apply, db, partners, venues, deliveries, demo, simulate."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from maitred import __version__, boot, startup, terminal
from maitred.config import get_settings
from maitred.errors import SetupError
from maitred.logs import configure


class Commands(TyperGroup):
    """The root command group: a `SetupError` (a setting, a configuration file, the database's
    address) from any command is printed as what it is, without a traceback, and exits 2."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context
        """Run the command; SetupError → its message on stderr and exit status 2."""
        try:
            return super().invoke(ctx)
        except SetupError as exc:
            terminal.error(*exc.message.splitlines())
            raise typer.Exit(2) from exc


app = typer.Typer(
    name="maitred",
    help="Restaurant integration hub: reservations ↔ POS ↔ ordering channels.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=Commands,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """maitred command line."""
    boot.install()
    settings = get_settings()
    configure(settings.log_level, settings.log_format)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the database at MAITRED_DATABASE_URL (and the key file, if unset)."""
    from maitred.db.migrate import upgrade
    from maitred.security import SecretBox

    settings = get_settings()
    startup.announce(settings, "db upgrade")
    startup.probe(settings)
    upgrade(settings.database_url, revision)
    SecretBox.from_settings(settings.secret_key, settings.data_dir)
    typer.echo(f"database {startup.shown_url(settings.database_url)} is at {revision}")


@app.command()
def serve(
    config: Annotated[
        Path | None,
        typer.Option(
            help="A TOML file of partners and venues to apply first (the file wins: see "
            "`maitred apply --help`).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (MAITRED_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (MAITRED_PORT).")] = None,
    worker: Annotated[bool, typer.Option(help="Run a delivery worker in-process.")] = True,
    migrate: Annotated[bool, typer.Option(help="Apply migrations at start.")] = True,
    workers: Annotated[int, typer.Option(help="HTTP worker processes.")] = 1,
) -> None:
    """Serve the API (and, unless --no-worker, deliver in the same process)."""
    import uvicorn

    from maitred.api.serving import uvicorn_options

    settings = get_settings()
    document = None
    if config is not None:  # a refused file stops the start before anything is created
        from maitred.cli.apply import load_config

        document = load_config(config)
    startup.prepare(settings, "serve", migrate=migrate)
    if config is not None and document is not None:
        from maitred.cli import apply as apply_cli

        apply_cli.apply_and_report(settings, config, document)
    uvicorn.run(
        "maitred.api.asgi:worker_app" if worker else "maitred.api.asgi:app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,  # keep the format `configure` set (JSON with MAITRED_LOG_FORMAT=json)
        **uvicorn_options(settings),
    )


@app.command()
def worker() -> None:
    """Run a delivery worker process (any number of them on PostgreSQL)."""
    from maitred.worker.runner import run_worker

    settings = get_settings()
    startup.prepare(settings, "worker", migrate=False)
    asyncio.run(run_worker(settings))


@app.command()
def demo(
    once: Annotated[bool, typer.Option(help="End when the service is played.")] = False,
    workdir: Annotated[Path, typer.Option(help="Where the demo keeps its files.")] = Path(".demo"),
) -> None:
    """Start the hub and partner stand-ins on loopback and play a short service."""
    from maitred.demo.runner import run

    raise typer.Exit(run(once=once, workdir=workdir))


def _register_subcommands() -> None:
    from maitred.cli import apply as apply_cli
    from maitred.cli import channel_orders as channel_orders_cli
    from maitred.cli import deliveries as deliveries_cli
    from maitred.cli import flags as flags_cli
    from maitred.cli import orders as orders_cli
    from maitred.cli import partners as partners_cli
    from maitred.cli import reservations as reservations_cli
    from maitred.cli import tables as tables_cli
    from maitred.cli import venues as venues_cli
    from maitred.simulators import cli as simulators_cli

    app.command("apply")(apply_cli.apply)
    partners_cli.app.command("ping")(deliveries_cli.ping_command)
    app.add_typer(partners_cli.app, name="partners")
    app.add_typer(venues_cli.app, name="venues")
    app.add_typer(deliveries_cli.app, name="deliveries")
    app.add_typer(simulators_cli.app, name="simulate")
    app.add_typer(tables_cli.app, name="tables")
    app.add_typer(orders_cli.app, name="orders")
    app.add_typer(channel_orders_cli.app, name="channel-orders")
    app.add_typer(reservations_cli.app, name="bookings")
    app.add_typer(flags_cli.app, name="flags")


_register_subcommands()


def main() -> None:
    """Entry point of the `maitred` script."""
    app()
