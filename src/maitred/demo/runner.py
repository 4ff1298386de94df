"""Plays the demo: starts the hub and a partner stand-in on loopback, sends what an RMS would,
and prints what happened at each step and a summary."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from rich.console import Console
from rich.table import Table

from maitred.demo.receiver import Receiver

CONFIG = Path(__file__).with_name("demo.toml")
VENUE = "rms-venue-trattoria"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Demo:
    """State of one demo run."""

    workdir: Path
    console: Console
    keys: dict[str, str] = field(default_factory=dict)
    hub_url: str = ""
    admin_token: str = ""
    steps: list[tuple[str, str, bool]] = field(default_factory=list)

    def step(self, title: str, outcome: str, ok: bool) -> None:
        """Print one step and remember it for the summary."""
        mark = "[green]✓[/]" if ok else "[red]✗[/]"
        self.console.print(f"{mark} [bold]{title}[/] — {outcome}")
        self.steps.append((title, outcome, ok))


def run(*, once: bool, workdir: Path) -> int:
    """Play the service; return the exit code (0 when every step behaved as expected)."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return asyncio.run(_run(once=once, workdir=workdir))


async def _run(*, once: bool, workdir: Path) -> int:
    console = Console()
    demo = Demo(workdir=workdir, console=console)
    demo.keys = {name: secrets.token_urlsafe(24) for name in ("rms", "rms_tok", "pos", "pos_tok")}
    demo.admin_token = secrets.token_urlsafe(24)
    receiver = Receiver(tokens={"demo-rms": demo.keys["rms_tok"], "demo-pos": demo.keys["pos_tok"]})
    async with _serve_receiver(receiver) as partner_url, _hub(demo, partner_url) as hub:
        async with aiohttp.ClientSession(base_url=hub) as http:
            await _load_secrets(demo, http, receiver)
            await _play(demo, http, receiver)
            await _summary(demo, http, receiver)
        if not once:
            console.print(
                f"\nThe hub stays up at [bold]{hub}[/] (API docs: {hub}/docs). Ctrl-C ends."
            )
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()
    return 0 if all(ok for _, _, ok in demo.steps) else 1


@contextlib.asynccontextmanager
async def _serve_receiver(receiver: Receiver) -> AsyncIterator[str]:
    runner = web.AppRunner(receiver.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _hub(demo: Demo, partner_url: str) -> AsyncIterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "MAITRED_DATABASE_URL": f"sqlite:///{demo.workdir / 'maitred.db'}",
        "MAITRED_DATA_DIR": str(demo.workdir),
        "MAITRED_ADMIN_TOKEN": demo.admin_token,
        "MAITRED_ALLOW_LOOPBACK": "true",
        "MAITRED_RETRY_SCALE": "0.1",
        "MAITRED_POLL_INTERVAL": "0.1",
        "DEMO_PARTNER_URL": partner_url,
        "DEMO_RMS_KEY": demo.keys["rms"],
        "DEMO_RMS_TOKEN": demo.keys["rms_tok"],
        "DEMO_POS_KEY": demo.keys["pos"],
        "DEMO_POS_TOKEN": demo.keys["pos_tok"],
    }
    log = (demo.workdir / "hub.log").open("wb")
    command = [
        sys.executable,
        "-m",
        "maitred",
        "serve",
        "--config",
        str(CONFIG),
        "--port",
        str(port),
    ]
    # A long-lived child we stop ourselves; Popen returns at once.
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(url, process)
        demo.hub_url = url
        demo.console.print(f"[bold]maitred[/] is up at {url}; partner stand-in at {partner_url}\n")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the hub exited at start; see .demo/hub.log")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError("the hub did not become healthy within 60 s")


def _admin(demo: Demo) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.admin_token}"}


def _rms(demo: Demo, key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key or demo.keys['rms']}"}


async def _load_secrets(demo: Demo, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    for partner in ("demo-rms", "demo-pos"):
        async with http.get(f"/admin/partners/{partner}/signing-secret", headers=_admin(demo)) as r:
            r.raise_for_status()
            receiver.secrets[partner] = (await r.json())["signingSecret"]


def _booking(**changes: Any) -> dict[str, Any]:
    booking: dict[str, Any] = {
        "bookingId": "B-1001",
        "venueId": VENUE,
        "partySize": 4,
        "status": "booked",
        "tables": ["rms-table-12"],
        "date": 1790000000,
        "prepayment": 20.0,
        "contact": {"firstname": "Ada", "lastname": "Lovelace", "locale": "en"},
        "notes": "Window seat, please",
    }
    booking.update(changes)
    return booking


async def _post_rms(
    http: aiohttp.ClientSession, body: Any, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.post("/rms", json=body, headers=headers) as response:
        return response.status, await response.json()


async def _play(demo: Demo, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    status, body = await _post_rms(http, _booking(), _rms(demo))
    demo.step("Booking B-1001 made in the RMS", f"POST /rms → {status}", status == 200)

    seated = _booking(status="seated", items=[{"sku": "MENU-DEGUST", "quantity": 4}])
    status, body = await _post_rms(http, seated, _rms(demo))
    demo.step(
        "Guest seated with a pre-ordered tasting menu", f"POST /rms → {status}", status == 200
    )

    status, body = await _post_rms(http, seated, _rms(demo))
    demo.step(
        "The RMS retries the same webhook",
        f"{status}, duplicate={body.get('duplicate')} (no second effect)",
        status == 200 and body.get("duplicate") is True,
    )

    moved = dict(seated, tables=["rms-table-14"], partySize=5)
    status, body = await _post_rms(http, moved, _rms(demo))
    demo.step("Table move and a fifth guest", f"POST /rms → {status}", status == 200)

    status, body = await _post_rms(http, dict(moved, partySize="five"), _rms(demo))
    named = ", ".join(body.get("error", {}).get("details", {}))
    demo.step("A malformed update is refused", f"{status}, naming {named}", status == 400)

    status, body = await _post_rms(http, seated, _rms(demo, key="not-a-key"))
    demo.step("A caller with a wrong key", f"{status} {body['error']['message']}", status == 401)

    await _ping_with_retry(demo, http, receiver)


async def _ping_with_retry(demo: Demo, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    receiver.fail_next = 2
    async with http.post("/admin/partners/demo-rms/ping", headers=_admin(demo)) as response:
        ping = await response.json()
    demo.step("Test event sent to the RMS's webhook", f"{response.status}", response.status == 202)
    delivery = await _wait_delivered(demo, http, int(ping["deliveryId"]))
    attempts = delivery.get("attempts", [])
    codes = " → ".join(str(a.get("statusCode")) for a in attempts)
    ids = {r.webhook_id for r in receiver.received if r.body.get("type") == "ping"}
    verified = all(r.signature_ok and r.bearer_ok for r in receiver.received)
    demo.step(
        "The receiver failed twice; maitred retried with backoff",
        f"attempts {codes}; one webhook-id across retries: {len(ids) == 1}; "
        f"signature and Bearer verified: {verified}",
        delivery.get("state") == "delivered" and len(ids) == 1 and verified,
    )


async def _wait_delivered(
    demo: Demo, http: aiohttp.ClientSession, delivery_id: int
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        async with http.get(f"/admin/deliveries/{delivery_id}", headers=_admin(demo)) as response:
            body = await response.json()
        if body.get("state") in ("delivered", "failed"):
            return body
        await asyncio.sleep(0.2)
    return body


async def _summary(demo: Demo, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    async with http.get("/admin/deliveries", headers=_admin(demo)) as response:
        deliveries = await response.json()
    async with http.get("/admin/traces?limit=500", headers=_admin(demo)) as response:
        traces = await response.json()
    rows = traces.get("items", traces) if isinstance(traces, dict) else traces
    items = deliveries.get("items", deliveries) if isinstance(deliveries, dict) else deliveries
    table = Table(title="Summary")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_row("steps played", str(len(demo.steps)))
    table.add_row("steps as expected", str(sum(ok for _, _, ok in demo.steps)))
    table.add_row("inbound calls traced", str(sum(t.get("direction") == "inbound" for t in rows)))
    table.add_row("outbound calls traced", str(sum(t.get("direction") == "outbound" for t in rows)))
    table.add_row("deliveries", str(len(items)))
    table.add_row("delivered", str(sum(d.get("state") == "delivered" for d in items)))
    table.add_row("webhooks the partner received", str(len(receiver.received)))
    demo.console.print()
    demo.console.print(table)
    demo.console.print(f"Hub log: {demo.workdir / 'hub.log'}")
