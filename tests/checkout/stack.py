"""Channel orders end to end: `maitred serve` processes (real HTTP, real database) between the
RBI POS simulator and the channel simulator, both real HTTP servers on 127.0.0.1 run in the
test's event loop so a test can read their state."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.fernet import Fernet
from sqlalchemy import text

from maitred.db.engine import make_throwaway_engine
from maitred.demo.stack import free_port
from maitred.security import new_signing_secret
from maitred.simulators.channel import CHANNEL_KEY, ChannelConfig, ChannelSim
from maitred.simulators.channel import build_app as build_channel
from maitred.simulators.rbi_pos import RBI_POS_KEY, RbiPosConfig, RbiPosSim
from maitred.simulators.rbi_pos import build_app as build_pos

ADMIN = "channel-admin-token-0123456789"
CHANNEL_KEY_ = "channel-key-0123456789abcdef"
POS_KEY = "rbi-pos-key-0123456789abcdef"
OTHER_POS_KEY = "other-pos-key-0123456789abcd"
STORE = "4242"  # the channel's id for the venue
POS_STORE = "pos-store-17"  # the POS's id for it
NO_CURRENCY_STORE = "4343"  # a venue with no currency set


@dataclass
class Hub:
    """One `maitred serve` process."""

    url: str
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, config: Path) -> None:
        """Start it; `wait_up` waits until it answers."""
        command = [sys.executable, "-m", "maitred", "serve", "--config", str(config)]
        command += ["--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@dataclass
class ChannelStack:
    """The hub process(es) and the two simulators."""

    workdir: Path
    database_url: str
    hubs: list[Hub] = field(default_factory=list)
    pos: RbiPosSim | None = None
    channel: ChannelSim | None = None
    pos_url: str = ""
    channel_url: str = ""
    http: aiohttp.ClientSession | None = None
    runners: list[web.AppRunner] = field(default_factory=list)
    config: Path | None = None

    @property
    def hub(self) -> str:
        """The first hub's URL."""
        return self.hubs[0].url

    @property
    def pos_sim(self) -> RbiPosSim:
        """The POS simulator."""
        assert self.pos is not None
        return self.pos

    @property
    def channel_sim(self) -> ChannelSim:
        """The channel simulator."""
        assert self.channel is not None
        return self.channel

    async def call(
        self, method: str, url: str, body: Any = None, *, key: str | None = CHANNEL_KEY_
    ) -> tuple[int, Any]:
        """One JSON request; (status, body)."""
        assert self.http is not None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with self.http.request(method, url, json=body, headers=headers) as response:
            raw = await response.read()
            try:
                decoded = await response.json(content_type=None) if raw else None
            except ValueError:
                decoded = raw.decode(errors="replace")
            return response.status, decoded

    async def channel_do(self, path: str, body: Any = None, method: str = "POST") -> Any:
        """Drive the channel simulator (`/_sim/...`); maitred's answer as it relayed it."""
        status, answer = await self.call(method, self.channel_url + path, body, key=None)
        assert status == 200, (status, answer)
        return answer

    async def pos_do(self, path: str, body: Any = None, method: str = "POST") -> Any:
        """Drive the POS simulator."""
        status, answer = await self.call(method, self.pos_url + path, body, key=None)
        assert status < 300, (status, answer)
        return answer

    async def order(self, order_id: str, hub: str | None = None) -> dict[str, Any]:
        """The order as the channel reads it."""
        status, body = await self.call("GET", f"{hub or self.hub}/v1/channel/orders/{order_id}")
        assert status == 200, (status, body)
        data: dict[str, Any] = body["data"]
        return data

    async def until_status(self, order_id: str, status: str, timeout: float = 20) -> dict[str, Any]:
        """Wait until the order reads `status`."""
        deadline = time.monotonic() + timeout
        while True:
            order = await self.order(order_id)
            if order["status"] == status:
                return order
            if time.monotonic() > deadline:
                raise AssertionError(f"order {order_id} is {order['status']}, not {status}")
            await asyncio.sleep(0.05)

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of a query on the hub's database."""
        engine = make_throwaway_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return [dict(r._mapping) for r in connection.execute(text(sql), params)]
        finally:
            engine.dispose()

    # -- processes ----------------------------------------------------------------------

    async def start(self, hubs: int = 1, *, cross: bool = False, **env: str) -> None:
        """Start the simulators, then `hubs` maitred processes sharing the database; `cross`:
        the first one gives the POS the second one's URL to call back on."""
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        ports = [free_port() for _ in range(hubs)]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        secrets = {"pos": new_signing_secret(), "channel": new_signing_secret()}
        pos_port, channel_port = free_port(), free_port()
        self.pos_url, self.channel_url = (
            f"http://127.0.0.1:{pos_port}",
            f"http://127.0.0.1:{channel_port}",
        )
        pos_config = RbiPosConfig(
            hub=urls[-1], hub_key=POS_KEY, token="pos-token-abc", venue=POS_STORE,
            signing_secret=secrets["pos"], quiet=True,
        )  # fmt: skip
        channel_config = ChannelConfig(
            hub=urls[0], hub_key=CHANNEL_KEY_, token="channel-token-abc", venue=STORE,
            signing_secret=secrets["channel"], quiet=True,
        )  # fmt: skip
        pos_app, channel_app = build_pos(pos_config), build_channel(channel_config)
        self.pos, self.channel = pos_app[RBI_POS_KEY], channel_app[CHANNEL_KEY]
        for app, port in ((pos_app, pos_port), (channel_app, channel_port)):
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self.runners.append(runner)
        self.config = self._config(secrets)
        key = Fernet.generate_key().decode()
        for number, (port, url) in enumerate(zip(ports, urls, strict=True)):
            hub_env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("MAITRED_")},
                "MAITRED_DATABASE_URL": self.database_url,
                "MAITRED_DATA_DIR": str(self.workdir),
                "MAITRED_SECRET_KEY": key,
                "MAITRED_ADMIN_TOKEN": ADMIN,
                "MAITRED_ALLOW_LOOPBACK": "true",
                "MAITRED_RETRY_SCALE": "0.02",
                "MAITRED_POLL_INTERVAL": "0.05",
                "MAITRED_LOG_LEVEL": "warning",
                "MAITRED_PUBLIC_URL": url,
                "MAITRED_CHANNEL_WAIT_SECONDS": "2",
                **env,
            }
            if cross and number == 0:
                hub_env["MAITRED_PUBLIC_URL"] = urls[1]
            hub = Hub(url, port, hub_env, self.workdir / f"hub{number}.log")
            self.hubs.append(hub)
        for hub in self.hubs:
            await self.start_hub(hub)

    async def start_hub(self, hub: Hub) -> None:
        """Start one hub and wait until it answers."""
        assert self.config is not None
        hub.start(self.config)
        # A loaded machine (2 cores, several suites) takes a while to start a Python process.
        await self.wait_for(f"{hub.url} up", lambda: self._up(hub), timeout=180)

    async def _up(self, hub: Hub) -> bool:
        if hub.process is not None and hub.process.poll() is not None:
            raise AssertionError(f"hub exited: {hub.log.read_text()[-3000:]}")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            status, _ = await self.call("GET", hub.url + "/healthz", key=None)
            return status == 200
        return False

    @staticmethod
    async def wait_for(what: str, probe: Callable[[], Awaitable[Any]], timeout: float = 20) -> Any:
        """Poll `probe` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = await probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    def _config(self, secrets: dict[str, str]) -> Path:
        path = self.workdir / "maitred.toml"
        path.write_text(
            f"""
[[partners]]
id = "web"
kind = "channel"
contract = "rbi"
api_key = "{CHANNEL_KEY_}"
token = "channel-token-abc"
webhook_url = "{self.channel_url}/webhooks/rbi"
signing_secret = "{secrets["channel"]}"

[[partners]]
id = "till"
kind = "pos"
contract = "rbi"
api_key = "{POS_KEY}"
token = "pos-token-abc"
webhook_url = "{self.pos_url}/webhooks"
signing_secret = "{secrets["pos"]}"

[[partners]]
id = "other-till"
kind = "pos"
contract = "rbi"
api_key = "{OTHER_POS_KEY}"
webhook_url = "{self.pos_url}/elsewhere"

[[venues]]
id = "burger-17"
currency = "EUR"
pos = {{ partner = "till", venue_id = "{POS_STORE}" }}
channel = {{ partner = "web", venue_id = "{STORE}" }}

[[venues]]
id = "no-currency-17"
pos = {{ partner = "till", venue_id = "pos-store-18" }}
channel = {{ partner = "web", venue_id = "{NO_CURRENCY_STORE}" }}

[[venues]]
id = "other-17"
currency = "EUR"
pos = {{ partner = "other-till", venue_id = "other-store" }}
"""
        )
        return path

    async def stop(self) -> None:
        """Stop everything."""
        for hub in self.hubs:
            hub.stop()
        for runner in self.runners:
            await runner.cleanup()
        if self.http is not None:
            await self.http.close()
