"""The simulators' calls to maitred, with the outbound faults: duplicate and reordered sends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from maitred.simulators.common import SimCore, jsonable, parse_body

SEND_TIMEOUT_S = 10.0


@dataclass
class Notification:
    """One message for maitred; its path is computed when it actually leaves."""

    method: str
    path: Callable[[], str]
    body: dict[str, Any]
    label: str
    on_answer: Callable[[int, Any], None] | None = None


@dataclass
class Sent:
    """One HTTP request the simulator made to maitred and what came back."""

    label: str
    method: str
    path: str
    status: int | None
    body: Any


@dataclass
class Outcome:
    """What an action's notification did: maitred's answer, whether it was held, every send."""

    hub: dict[str, Any] | None = None
    held: bool = False
    sent: list[Sent] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The outcome as JSON for the control API."""
        return {"hub": self.hub, "held": self.held, "sent": [asdict(s) for s in self.sent]}


class HubSender:
    """Sends notifications to maitred in order, one at a time, applying outbound faults."""

    def __init__(self, core: SimCore) -> None:
        self.core = core
        self.held: Notification | None = None
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()

    async def session_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: one client session for the app's lifetime."""
        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._session = session
            yield
            self._session = None

    async def send(self, note: Notification) -> Outcome:
        """Send `note` (twice under `duplicate_sends`; held back once under `reorder_sends`)."""
        async with self._lock:
            faults = self.core.faults
            if faults.reorder_sends > 0 and self.held is None:
                faults.reorder_sends -= 1
                self.held = note
                self.core.say(f"-> {note.label}: held back (reorder fault)")
                return Outcome(held=True)
            outcome = Outcome()
            first = await self._deliver_all(note, outcome)
            outcome.hub = {"status": first.status, "body": first.body}
            await self._release(outcome)
            return outcome

    async def flush(self) -> Outcome:
        """Send a held notification now, if there is one."""
        async with self._lock:
            outcome = Outcome()
            await self._release(outcome)
            return outcome

    async def _release(self, outcome: Outcome) -> None:
        if self.held is not None:
            held, self.held = self.held, None
            await self._deliver_all(held, outcome)

    async def _deliver_all(self, note: Notification, outcome: Outcome) -> Sent:
        first = await self._deliver(note)
        outcome.sent.append(first)
        if self.core.faults.duplicate_sends:
            outcome.sent.append(await self._deliver(note))
        return first

    async def _deliver(self, note: Notification) -> Sent:
        """One HTTP request to maitred; a network failure is reported, not raised."""
        path = note.path()
        url = self.core.config.hub.rstrip("/") + path
        headers = {
            "Authorization": f"Bearer {self.core.config.hub_key}",
            "Content-Type": "application/json",
        }
        data = json.dumps(jsonable(note.body))
        status: int | None = None
        try:
            if self._session is None:
                raise RuntimeError("the simulator's HTTP session is not running")
            async with self._session.request(note.method, url, data=data, headers=headers) as r:
                status, body = r.status, parse_body(await r.read())
        except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
            body = {"error": f"{type(exc).__name__}: {exc}"}
        self.core.say(f"-> {note.label}: {note.method} {path} answered {status}")
        if status is not None and note.on_answer is not None:
            note.on_answer(status, body)
        return Sent(label=note.label, method=note.method, path=path, status=status, body=body)
