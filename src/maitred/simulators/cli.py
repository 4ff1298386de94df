"""`maitred simulate pos|rms|rbi-pos|channel`: run a partner simulator as its own process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Coroutine
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Run a partner simulator (a real HTTP server with fault injection).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

Host = Annotated[str, typer.Option(help="Bind address.")]
Hub = Annotated[str, typer.Option("--hub", help="maitred's base URL.")]
HubKey = Annotated[str, typer.Option("--hub-key", help="Bearer key presented to maitred.")]
Token = Annotated[str, typer.Option(help="Bearer token maitred must present (401 otherwise).")]
Floor = Annotated[str, typer.Option(help="Built-in floor plan.")]


def command_line(
    simulator: str, *, port: int, hub: str, hub_key: str, token: str, venue: str, **options: str
) -> list[str]:
    """The command that starts `simulator` (`pos`, `rms`, `rbi-pos`, `channel`) as its own
    process, spelled with the options declared below (`signing_secret="…"` is
    `--signing-secret …`): what `maitred demo` and the end-to-end stack spawn."""
    argv = [sys.executable, "-m", "maitred", "simulate", simulator, "--port", str(port)]
    argv += ["--hub", hub, "--hub-key", hub_key, "--token", token, "--venue", venue]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", value]
    return argv


def _run(server: Coroutine[Any, Any, None]) -> None:
    """Serve until SIGINT or SIGTERM, then shut the server down cleanly."""
    asyncio.run(_until_signalled(server))


async def _until_signalled(server: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(server)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


@app.command()
def pos(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9101,
    host: Host = "127.0.0.1",
    hub: Hub = "http://127.0.0.1:8000",
    hub_key: HubKey = "",
    token: Token = "pos-token",  # noqa: S107 - a stand-in's well-known default
    venue: Annotated[str, typer.Option(help="The POS's own venue id.")] = "pos-venue-1",
    floor: Floor = "default",
) -> None:
    """Play a POS: tables, orders and checks; notifies maitred of walk-ins, changes, close, void."""
    from maitred.simulators.pos import PosConfig, serve
    from maitred.simulators.pos_state import FLOORS

    if floor not in FLOORS:
        raise typer.BadParameter(f"known floors: {', '.join(FLOORS)}", param_hint="--floor")
    config = PosConfig(hub=hub, hub_key=hub_key, token=token, venue=venue, floor=floor)
    _run(serve(config, host, port))


@app.command()
def rms(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9102,
    host: Host = "127.0.0.1",
    hub: Hub = "http://127.0.0.1:8000",
    hub_key: HubKey = "",
    token: Token = "rms-token",  # noqa: S107 - a stand-in's well-known default
    venue: Annotated[str, typer.Option(help="The RMS's own venue id.")] = "rms-venue-1",
    signing_secret: Annotated[
        str | None, typer.Option(help="whsec_… secret: verify Standard Webhooks signatures.")
    ] = None,
    floor: Floor = "default",
) -> None:
    """Play an RMS: tables and bookings; receives and checks maitred's pos_order events."""
    from maitred.simulators.rms import RmsConfig, serve
    from maitred.simulators.rms_sim import FLOORS

    if floor not in FLOORS:
        raise typer.BadParameter(f"known floors: {', '.join(FLOORS)}", param_hint="--floor")
    config = RmsConfig(
        hub=hub,
        hub_key=hub_key,
        token=token,
        venue=venue,
        floor=floor,
        signing_secret=signing_secret,
    )
    _run(serve(config, host, port))


SigningSecret = Annotated[
    str | None, typer.Option(help="whsec_… secret: verify x-signature and Standard Webhooks.")
]


@app.command("rbi-pos")
def rbi_pos(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9103,
    host: Host = "127.0.0.1",
    hub: Hub = "http://127.0.0.1:8000",
    hub_key: HubKey = "",
    token: Token = "rbi-pos-token",  # noqa: S107 - a stand-in's well-known default
    venue: Annotated[str, typer.Option(help="The POS's own store id.")] = "pos-store-17",
    signing_secret: SigningSecret = None,
    prepare_after: Annotated[
        float | None, typer.Option(help="Report PREPARED this many seconds after firing.")
    ] = None,
) -> None:
    """Play a POS on the RBI contract: prices, commits and fires channel orders by callback,
    answers the store heartbeat, reports order events and store status."""
    from maitred.simulators.rbi_pos import RbiPosConfig, serve

    config = RbiPosConfig(
        hub=hub,
        hub_key=hub_key,
        token=token,
        venue=venue,
        signing_secret=signing_secret,
        prepare_after=prepare_after,
    )
    _run(serve(config, host, port))


@app.command()
def channel(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9104,
    host: Host = "127.0.0.1",
    hub: Hub = "http://127.0.0.1:8000",
    hub_key: HubKey = "",
    token: Token = "channel-token",  # noqa: S107 - a stand-in's well-known default
    venue: Annotated[str, typer.Option(help="The channel's own store id (digits).")] = "4242",
    signing_secret: SigningSecret = None,
) -> None:
    """Play an online-ordering channel: places orders through maitred's channel API and
    receives (and checks) ORDER_UPDATED and STORE_UPDATED."""
    from maitred.simulators.channel import ChannelConfig, serve

    config = ChannelConfig(
        hub=hub, hub_key=hub_key, token=token, venue=venue, signing_secret=signing_secret
    )
    _run(serve(config, host, port))
