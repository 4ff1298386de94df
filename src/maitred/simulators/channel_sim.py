"""One running channel simulator: an online-ordering channel (web, app, kiosk) that places
orders on maitred's channel API and receives its webhooks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from maitred.simulators.common import SimConfig, SimCore, parse_body

CHANNEL_BASE = "/v1/channel/orders"
# Longer than any bounded wait maitred may be configured with: price and commit answer only
# once the POS has called back.
CALL_TIMEOUT_S = 60.0
DEFAULT_CUSTOMER = {"name": "Ada L.", "email": "ada@example.com", "phone": "+34600000000"}
DEFAULT_ITEMS = [{"plu": "PLU-SUNDAE", "quantity": 2}]


@dataclass(frozen=True)
class ChannelConfig(SimConfig):
    """Channel simulator settings: `venue` is the channel's store id (digits), `token` what
    maitred must present on webhooks, `signing_secret` (whsec_…) turns on signature checks,
    `follow_callbacks` reads each ORDER_UPDATED's `callbackUrl` as the contract asks."""

    token: str = "channel-token"  # noqa: S105 - a stand-in's well-known default
    venue: str = "4242"
    region: str = "ES"
    service_mode: str = "TAKEOUT"
    follow_callbacks: bool = True


@dataclass
class Answer:
    """One call the channel made to maitred and what came back."""

    method: str
    path: str
    status: int | None
    body: Any
    elapsed_ms: float

    def as_json(self) -> dict[str, Any]:
        """The answer for the control API."""
        return asdict(self) | {"elapsedMs": round(self.elapsed_ms, 1)}


@dataclass
class Received:
    """One webhook from maitred, as the channel judged it."""

    seq: int
    received_at: str
    webhook_id: str | None
    signature: str  # x-signature: valid, invalid or unchecked
    standard: str  # Standard Webhooks: valid, invalid, absent or unchecked
    body: Any
    answered: int = 200
    duplicate: bool = False
    problems: list[str] = field(default_factory=list)
    fetched: Any = None

    def as_json(self) -> dict[str, Any]:
        """The webhook for `GET /_sim/events`."""
        return {
            "seq": self.seq,
            "receivedAt": self.received_at,
            "webhookId": self.webhook_id,
            "signature": self.signature,
            "standard": self.standard,
            "body": self.body,
            "answered": self.answered,
            "duplicate": self.duplicate,
            "problems": self.problems,
            "fetched": self.fetched,
        }


class ChannelSim:
    """The channel simulator's orders, received webhooks, and calls to maitred."""

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config
        self.core = SimCore(name="channel", config=config)
        self.events: list[Received] = []
        self.answers: list[Answer] = []
        self.orders: dict[str, Any] = {}  # the latest order maitred answered, by id
        self.statuses: dict[str, str] = {}  # the latest status an ORDER_UPDATED said, by id
        self.seen_webhook_ids: set[str] = set()
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def session_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: one client session for the app's lifetime."""
        timeout = aiohttp.ClientTimeout(total=CALL_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._session = session
            yield
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._session = None

    async def call(self, method: str, target: str, body: Any = None) -> Answer:
        """One call to maitred (`target` a path on the hub or an absolute URL)."""
        url = target if target.startswith(("http://", "https://")) else self._hub(target)
        headers = {
            "Authorization": f"Bearer {self.config.hub_key}",
            "x-ui-region": self.config.region,
        }
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        status: int | None = None
        try:
            if self._session is None:
                raise RuntimeError("the simulator's HTTP session is not running")
            async with self._session.request(method, url, data=data, headers=headers) as r:
                status, answer = r.status, parse_body(await r.read())
        except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        result = Answer(method, url, status, answer, (time.monotonic() - started) * 1000)
        self.answers.append(result)
        self._remember(answer)
        self.core.say(f"-> {method} {url} answered {status} in {result.elapsed_ms:.0f} ms")
        return result

    def _hub(self, path: str) -> str:
        return self.config.hub.rstrip("/") + path

    def _remember(self, answer: Any) -> None:
        """Keep the latest order maitred answered with (`{data: Order}`)."""
        data = answer.get("data") if isinstance(answer, dict) else None
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            self.orders[data["id"]] = data

    def follow(self, event: Received, url: str) -> None:
        """Read the changed order at `url` in the background (after the webhook is answered)."""
        task = asyncio.ensure_future(self._follow(event, url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow(self, event: Received, url: str) -> None:
        answer = await self.call("GET", url)
        event.fetched = {"status": answer.status, "body": answer.body}

    def order_body(self, shorthand: dict[str, Any]) -> dict[str, Any]:
        """A price or place body: the channel's store and customer, and `items` as a cart."""
        body = {k: v for k, v in shorthand.items() if k != "items"}
        body.setdefault("storeId", self.config.venue)
        body.setdefault("serviceMode", self.config.service_mode)
        body.setdefault("customer", DEFAULT_CUSTOMER)
        if "cart" not in body:
            items = shorthand.get("items", DEFAULT_ITEMS)
            body["cart"] = {"menuSelections": [_selection(i, n) for n, i in enumerate(items)]}
        return body


def _selection(item: Any, number: int) -> Any:
    """`{plu, quantity?, type?, parts?}` as a menu selection; anything else as given."""
    if not isinstance(item, dict) or "plu" not in item:
        return item
    node: dict[str, Any] = {
        "id": item.get("id", f"entry_{number}"),
        "externalReferenceId": item["plu"],
        "type": item.get("type", "Item"),
        "quantity": item.get("quantity", 1),
    }
    parts = item.get("parts")
    if parts:
        node["menuSelections"] = [
            _selection(part, number * 100 + n) for n, part in enumerate(parts, 1)
        ]
    return node


CHANNEL_KEY = web.AppKey("maitred.simulators.channel", ChannelSim)
