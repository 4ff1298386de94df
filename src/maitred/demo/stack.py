"""The whole system on loopback: maitred, the POS simulator and the RMS simulator, each its own
process, talking HTTP on 127.0.0.1 (used by `maitred demo` and the end-to-end tests)."""

from __future__ import annotations

import functools
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maitred.security import new_signing_secret
from maitred.simulators import cli as simulators_cli

ADMIN = "local-admin-token-0123456789"
POS_VENUE, RMS_VENUE, VENUE = "pos-venue-1", "rms-venue-1", "trattoria"
# Online orders (the RBI contract): the takeaway counter, its POS's and its channel's store ids.
ONLINE_VENUE, RBI_STORE, CHANNEL_STORE = "trattoria-takeaway", "pos-store-17", "4242"


# Ports are picked below the kernel's ephemeral range (32768 and up by default): a port the
# kernel hands out for an outgoing connection, or to another process's bind to port 0, can never
# be the one a child process is about to bind.
PORTS = range(20000, 32000)
_handed_out: set[int] = set()  # by this process: a stack's five ports are chosen before any binds


def free_port() -> int:
    """A port nobody listens on right now, outside the ephemeral range, and not one this
    process handed out before (it may not be listened on yet)."""
    for _ in range(200):
        port = PORTS.start + secrets.randbelow(len(PORTS))
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: another service, or another test's stack
            _handed_out.add(port)
            return port
    with socket.socket() as sock:  # the range is crowded: let the kernel choose
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """One JSON request to a loopback service; (status, decoded body)."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the local stack only calls loopback HTTP, not {url!r}")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - checked above
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `probe` until it returns something truthy (and return that); fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class Stack:
    """Running processes and the credentials between them."""

    workdir: Path
    database_url: str
    rms_venue: str = RMS_VENUE  # the RMS's id of the venue
    rms_floor: str = "default"  # the RMS simulator's floor plan
    hub: str = ""
    pos: str = ""
    rms: str = ""
    rbi_pos: str = ""  # the RBI-contract POS simulator (online orders)
    channel: str = ""  # the channel simulator
    keys: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # of the processes, in the same order

    # -- the partners' control APIs ------------------------------------------------------
    def pos_state(self) -> dict[str, Any]:
        """Everything the POS simulator holds."""
        return call("GET", self.pos + "/_sim/state")[1]  # type: ignore[no-any-return]

    def pos_orders(self) -> list[dict[str, Any]]:
        """The POS's orders."""
        return list(self.pos_state()["orders"])

    def pos_calls(self) -> list[dict[str, Any]]:
        """Every call maitred made to the POS."""
        return list(call("GET", self.pos + "/_sim/calls")[1])

    def pos_do(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A POS control action (walk-in, items, split, close, void…)."""
        status, answer = call("POST", self.pos + "/_sim" + path, body or {})
        assert status == 200, answer
        return answer  # type: ignore[no-any-return]

    def rms_events(self, check: str | None = None) -> list[dict[str, Any]]:
        """pos_order events the RMS received (optionally for one check)."""
        query = f"?checkNumber={check}" if check else ""
        return list(call("GET", self.rms + "/_sim/events" + query)[1])

    def book(self, **fields: Any) -> dict[str, Any]:
        """Create a booking in the RMS (it sends it to maitred)."""
        status, answer = call("POST", self.rms + "/_sim/bookings", fields)
        assert status == 200, answer
        return answer  # type: ignore[no-any-return]

    def change_booking(self, booking_id: str, **changes: Any) -> dict[str, Any]:
        """Change a booking in the RMS (it re-sends the full state)."""
        status, answer = call("PATCH", f"{self.rms}/_sim/bookings/{booking_id}", changes)
        assert status == 200, answer
        return answer  # type: ignore[no-any-return]

    def faults(self, side: str, **faults: Any) -> None:
        """Inject faults into a simulator ({} resets)."""
        base = self.pos if side == "pos" else self.rms
        if faults:
            assert call("POST", base + "/_sim/faults", faults)[0] == 200
        else:
            assert call("DELETE", base + "/_sim/faults")[0] == 200

    def admin(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A call to maitred's admin API."""
        return call(method, self.hub + path, body, ADMIN)

    def rms_table(self, name: str) -> str:
        """The RMS's id of the table it names `name` (e.g. "003")."""
        tables = call("GET", self.rms + "/_sim/state")[1]["tables"]
        return str(next(t["id"] for t in tables if t["name"] == name))

    def order_on(self, table: str) -> dict[str, Any]:
        """The (waited-for) open POS order on a POS table."""
        order: dict[str, Any] = wait_for(
            f"an open POS order on {table}",
            lambda: next(
                (o for o in self.pos_orders() if table in o["tables"] and o["status"] == "open"),
                None,
            ),
        )
        return order

    def events_for(self, check: str, count: int) -> list[dict[str, Any]]:
        """Wait until the RMS has received `count` events for `check`; return them."""

        def probe() -> list[dict[str, Any]] | None:
            found = self.rms_events(check)
            return found if len(found) >= count else None

        events: list[dict[str, Any]] = wait_for(f"{count} events for check {check}", probe)
        return events

    def channel_do(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Have the channel simulator call maitred (`/_sim/orders/...`); what it relayed."""
        status, answer = call("POST", self.channel + "/_sim" + path, body or {})
        assert status == 200, answer
        return answer  # type: ignore[no-any-return]

    def channel_events(self) -> list[dict[str, Any]]:
        """Every webhook the channel received, with its signature checks and problems."""
        return list(call("GET", self.channel + "/_sim/events")[1])

    def rbi_do(self, path: str, body: dict[str, Any] | None = None, method: str = "POST") -> Any:
        """An RBI POS simulator control action (menu, faults, store)."""
        status, answer = call(method, self.rbi_pos + "/_sim" + path, body)
        assert status < 300, answer
        return answer

    # -- processes ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the three processes and wait until each answers."""
        names = ("hub", "pos", "rms", "rbi_pos", "channel")
        ports = {name: free_port() for name in names}
        self.hub, self.pos, self.rms, self.rbi_pos, self.channel = (
            f"http://127.0.0.1:{ports[n]}" for n in names
        )
        self.keys = {
            n: secrets.token_urlsafe(24)
            for n in (
                *("pos_key", "pos_token", "rms_key", "rms_token"),
                *("rbi_key", "rbi_token", "channel_key", "channel_token"),
            )
        }
        for secret in ("rms_secret", "rbi_secret", "channel_secret"):
            self.keys[secret] = new_signing_secret()
        config = self._config()
        self._spawn_partners(ports)
        # The partners first: the hub fetches the venue's tables as soon as it starts.
        for url in (self.pos, self.rms, self.rbi_pos, self.channel):
            wait_for(f"{url} to answer", functools.partial(self._up, url + "/_sim/state"), 60)
        hub = [sys.executable, "-m", "maitred", "serve", "--config", str(config)]
        self._spawn("hub", [*hub, "--port", str(ports["hub"])])
        wait_for(f"{self.hub} to answer", functools.partial(self._up, self.hub + "/healthz"), 60)
        wait_for("the tables matched by the hub", self._tables_matched, timeout=60)

    def _spawn_partners(self, ports: dict[str, int]) -> None:
        """The POS and RMS of the dining room, and the RBI-contract POS and the channel that
        place online orders through maitred, each a `maitred simulate` process."""
        k = self.keys
        # process name, simulator, the prefix of its keys, its own venue id, its other options
        partners: list[tuple[str, str, str, str, dict[str, str]]] = [
            ("pos", "pos", "pos", POS_VENUE, {}),
            ("rms", "rms", "rms", self.rms_venue, {"floor": self.rms_floor}),
            ("rbi_pos", "rbi-pos", "rbi", RBI_STORE, {}),
            ("channel", "channel", "channel", CHANNEL_STORE, {}),
        ]
        for name, simulator, prefix, venue, options in partners:
            if f"{prefix}_secret" in k:  # the receivers that check maitred's signatures
                options["signing_secret"] = k[f"{prefix}_secret"]
            command = simulators_cli.command_line(
                simulator,
                port=ports[name],
                hub=self.hub,
                hub_key=k[f"{prefix}_key"],
                token=k[f"{prefix}_token"],
                venue=venue,
                **options,
            )
            self._spawn(name, command)

    def _tables_matched(self) -> bool:
        """True once the hub has fetched both sides' tables and matched them by itself."""
        status, view = self.admin("GET", f"/admin/venues/{VENUE}/tables")
        if status != 200:
            return False
        unmapped = view.get("unmappedRms", view.get("unmapped_rms"))  # the API's either spelling
        return bool(view["mappings"]) and unmapped == []

    def _up(self, url: str) -> bool:
        for name, process in zip(self.names, self.processes, strict=True):
            if process.poll() is not None:
                log = self.workdir / f"{name}.log"
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise AssertionError(
                    f"{name} exited early ({process.returncode}); {log} ends:\n{tail}"
                )
        try:
            return call("GET", url)[0] == 200
        except OSError:
            return False

    def _spawn(self, name: str, command: list[str]) -> None:
        env = {
            **os.environ,
            "MAITRED_DATABASE_URL": self.database_url,
            "MAITRED_DATA_DIR": str(self.workdir),
            "MAITRED_ADMIN_TOKEN": ADMIN,
            "MAITRED_ALLOW_LOOPBACK": "true",
            "MAITRED_RETRY_SCALE": "0.02",
            "MAITRED_POLL_INTERVAL": "0.05",
            "MAITRED_BREAKER_COOLDOWN": "1",
            "MAITRED_PUBLIC_URL": self.hub,
            "MAITRED_CHANNEL_WAIT_SECONDS": "2",  # the demo's POS that never calls back
            **self.env,
        }
        with (self.workdir / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        self.names.append(name)

    def _config(self) -> Path:
        path = self.workdir / "maitred.toml"
        k = self.keys
        path.write_text(
            f"""
[[partners]]
id = "rms"
kind = "rms"
api_key = "{k["rms_key"]}"
base_url = "{self.rms}"
token = "{k["rms_token"]}"
webhook_url = "{self.rms}/webhooks/pos-order"
signing_secret = "{k["rms_secret"]}"

[[partners]]
id = "pos"
kind = "pos"
api_key = "{k["pos_key"]}"
base_url = "{self.pos}"
token = "{k["pos_token"]}"

[[venues]]
id = "{VENUE}"
timezone = "Europe/Madrid"
rms = {{ partner = "rms", venue_id = "{self.rms_venue}" }}
pos = {{ partner = "pos", venue_id = "{POS_VENUE}" }}

[[partners]]
id = "till"
kind = "pos"
contract = "rbi"
api_key = "{k["rbi_key"]}"
token = "{k["rbi_token"]}"
webhook_url = "{self.rbi_pos}/webhooks"
signing_secret = "{k["rbi_secret"]}"

[[partners]]
id = "web"
kind = "channel"
contract = "rbi"
api_key = "{k["channel_key"]}"
token = "{k["channel_token"]}"
webhook_url = "{self.channel}/webhooks/rbi"
signing_secret = "{k["channel_secret"]}"

[[venues]]
id = "{ONLINE_VENUE}"
timezone = "Europe/Madrid"
currency = "EUR"
pos = {{ partner = "till", venue_id = "{RBI_STORE}" }}
channel = {{ partner = "web", venue_id = "{CHANNEL_STORE}" }}
"""
        )
        return path

    def stop(self) -> None:
        """Stop every process."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
