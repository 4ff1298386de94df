"""Calls a simulator makes to maitred in order per key (one order's callbacks and events) and
concurrently across keys, with the outbound faults: `duplicate_sends` sends each call twice,
`reorder_sends` holds one call back until the next call of the same key has gone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from maitred.simulators.common import SimCore, jsonable, parse_body
from maitred.simulators.hub import SEND_TIMEOUT_S, Outcome, Sent


@dataclass(frozen=True)
class Call:
    """One request for maitred: an absolute URL (a callback URL) or a path on the hub."""

    method: str
    target: str
    body: Any
    label: str


class KeyedSender:
    """Sends calls to maitred, one key at a time in order, many keys at once."""

    def __init__(self, core: SimCore) -> None:
        self.core = core
        self.held: dict[str, Call] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None

    async def session_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: one client session for the app's lifetime."""
        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._session = session
            yield
            self._session = None

    async def send(self, key: str, call: Call) -> Outcome:
        """Send `call` after the earlier calls of `key`, applying the outbound faults."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            faults = self.core.faults
            if faults.reorder_sends > 0 and key not in self.held:
                faults.reorder_sends -= 1
                self.held[key] = call
                self.core.say(f"-> {call.label}: held back (reorder fault)")
                return Outcome(held=True)
            outcome = Outcome()
            first = await self._deliver_all(call, outcome)
            outcome.hub = {"status": first.status, "body": first.body}
            await self._release(key, outcome)
            return outcome

    async def flush(self) -> Outcome:
        """Send every held call now."""
        outcome = Outcome()
        for key in list(self.held):
            async with self._locks.setdefault(key, asyncio.Lock()):
                await self._release(key, outcome)
        return outcome

    async def get(self, path: str) -> tuple[int | None, Any]:
        """A read from maitred (no faults): status and JSON body."""
        sent = await self._deliver(Call("GET", path, None, f"read {path}"))
        return sent.status, sent.body

    async def _release(self, key: str, outcome: Outcome) -> None:
        held = self.held.pop(key, None)
        if held is not None:
            await self._deliver_all(held, outcome)

    async def _deliver_all(self, call: Call, outcome: Outcome) -> Sent:
        first = await self._deliver(call)
        outcome.sent.append(first)
        if self.core.faults.duplicate_sends:
            outcome.sent.append(await self._deliver(call))
        return first

    async def _deliver(self, call: Call) -> Sent:
        """One HTTP request; a network failure is reported, not raised."""
        url = call.target
        if not url.startswith(("http://", "https://")):
            url = self.core.config.hub.rstrip("/") + call.target
        headers = {"Authorization": f"Bearer {self.core.config.hub_key}"}
        data = None if call.body is None else json.dumps(jsonable(call.body))
        if data is not None:
            headers["Content-Type"] = "application/json"
        status: int | None = None
        try:
            if self._session is None:
                raise RuntimeError("the simulator's HTTP session is not running")
            async with self._session.request(call.method, url, data=data, headers=headers) as r:
                status, body = r.status, parse_body(await r.read())
        except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
            body = {"error": f"{type(exc).__name__}: {exc}"}
        self.core.say(f"-> {call.label}: {call.method} {url} answered {status}")
        return Sent(label=call.label, method=call.method, path=url, status=status, body=body)
