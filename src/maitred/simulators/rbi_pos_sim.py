"""One running RBI POS simulator: settings, its fault switches, and its calls to maitred —
callbacks after a delay (or never), order events, store status changes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from aiohttp import web

from maitred.connectors.rbi import signature
from maitred.simulators.common import ApiError, SimConfig, SimCore, iso
from maitred.simulators.faults import FaultError
from maitred.simulators.hub import Outcome
from maitred.simulators.keyed import Call, KeyedSender
from maitred.simulators.rbi_pos_state import RbiPosState, Refusal, SimOrder

LEGS = ("price", "commit", "fire")
# The switches every simulator has that make sense here (see faults.py).
GENERIC_FAULTS = frozenset(
    {
        "latency_ms",
        "fail_status",
        "fail_count",
        "timeout_count",
        "hang_seconds",
        "duplicate_sends",
        "reorder_sends",
    }
)


@dataclass(frozen=True)
class RbiPosConfig(SimConfig):
    """RBI POS simulator settings. `venue` is the POS's own store id; `signing_secret` turns on
    the `x-signature` check of maitred's webhooks; `prepare_after` (seconds) reports PREPARED
    that long after the order is fired, and DONE as long again (None: only when told)."""

    token: str = "rbi-pos-token"  # noqa: S105 - a stand-in's well-known default
    venue: str = "pos-store-17"
    currency: str = "EUR"
    region: str = "ES"
    tax_percent: int = 10
    prepare_after: float | None = None


@dataclass
class RbiFaults:
    """What the POS does wrong on purpose: call back late, fail a leg, never call back, price
    with totals that do not add up, and which field carries its errors (decision 17)."""

    callback_delay_ms: int = 0
    fail_legs: list[str] = field(default_factory=list)
    silent_legs: list[str] = field(default_factory=list)
    bad_totals: bool = False
    error_field: str = "partnerErrors"

    def staged(self, changes: dict[str, Any]) -> dict[str, Any]:
        """`changes` checked, ready for `apply` (FaultError names a wrong one)."""
        staged: dict[str, Any] = {}
        for name, value in changes.items():
            if name in ("fail_legs", "silent_legs"):
                if not isinstance(value, list) or not set(value) <= set(LEGS):
                    raise FaultError(f"{name} must be a list of {', '.join(LEGS)}")
            elif name == "bad_totals" and not isinstance(value, bool):
                raise FaultError("bad_totals must be a boolean")
            elif name == "error_field" and value not in ("errors", "partnerErrors"):
                raise FaultError("error_field must be errors or partnerErrors")
            elif name == "callback_delay_ms" and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise FaultError("callback_delay_ms must be a non-negative integer")
            staged[name] = value
        return staged

    def apply(self, staged: dict[str, Any]) -> None:
        """Set checked switches."""
        for name, value in staged.items():
            setattr(self, name, value)

    def reset(self) -> None:
        """No faults."""
        for f in fields(self):
            setattr(self, f.name, getattr(RbiFaults(), f.name))

    def as_dict(self) -> dict[str, Any]:
        """The switches as JSON."""
        return asdict(self)


Outcomes = Callable[[SimOrder], Awaitable[dict[str, Any]]]
Hook = Callable[[SimOrder], None] | None


class RbiPosSim:
    """The RBI POS simulator's state, faults and calls to maitred."""

    def __init__(self, config: RbiPosConfig) -> None:
        self.config = config
        self.core = SimCore(name="rbi-pos", config=config)
        self.state = RbiPosState(config.venue, config.currency, config.tax_percent)
        self.faults = RbiFaults()
        self.hub = KeyedSender(self.core)
        self._tasks: set[asyncio.Task[None]] = set()

    def check_signature(self, raw: bytes, headers: Any) -> None:
        """401 unless the webhook carries maitred's `x-signature` (when a secret is set)."""
        secret = self.config.signing_secret
        if secret and not signature.verify(raw, secret, headers.get(signature.HEADER)):
            raise ApiError(401, "Missing or invalid x-signature")

    def later(self, coro: Awaitable[None]) -> None:
        """Run `coro` in the background (the webhook is answered at once)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self, _app: web.Application) -> None:
        """Cancel the callbacks and progress still waiting."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def call_back(
        self, order: SimOrder, leg: str, url: str, outcome: Outcomes, on_success: Hook = None
    ) -> None:
        """After the delay, work out the leg's outcome and call maitred back (unless silent);
        `on_success` runs once a successful callback is sent."""
        self.later(self._call_back(order, leg, url, outcome, on_success))

    async def _call_back(
        self, order: SimOrder, leg: str, url: str, outcome: Outcomes, on_success: Hook
    ) -> None:
        if self.faults.callback_delay_ms:
            await asyncio.sleep(self.faults.callback_delay_ms / 1000)
        body = await self._outcome(order, leg, outcome)
        order.status = body["status"]
        if leg in self.faults.silent_legs:
            order.held[leg] = (url, body)
            self.core.say(f"order {order.id}: {leg} callback held back (silent fault)")
            return
        await self.hub.send(order.id, Call("POST", url, body, f"{leg} callback {order.id}"))
        if on_success is not None and body["status"] != "ERROR":
            on_success(order)

    async def _outcome(self, order: SimOrder, leg: str, outcome: Outcomes) -> dict[str, Any]:
        if leg in self.faults.fail_legs:
            return self.error("UNKNOWN", f"simulated POS failure on {leg}")
        try:
            return await outcome(order)
        except Refusal as refusal:
            return self.error(refusal.code, refusal.message)

    def error(self, code: str, message: str) -> dict[str, Any]:
        """An ERROR body, its reasons in the field the faults name."""
        return {"status": "ERROR", self.faults.error_field: [{"code": code, "message": message}]}

    async def release(self, order: SimOrder, leg: str) -> Outcome:
        """Send a held-back callback now (a late callback)."""
        if leg not in order.held:
            raise ApiError(404, f"No {leg} callback held for order {order.id}")
        url, body = order.held.pop(leg)
        return await self.hub.send(order.id, Call("POST", url, body, f"late {leg} {order.id}"))

    async def report(self, order: SimOrder, status: str, errors: list[Any] | None) -> Outcome:
        """`POST /v1/orders/{orderId}/events`: the order's progress."""
        body: dict[str, Any] = {"status": status}
        if errors:
            body[self.faults.error_field] = errors
        order.status = status
        path = f"/v1/orders/{order.id}/events"
        return await self.hub.send(order.id, Call("POST", path, body, f"{status} {order.id}"))

    def progress(self, order: SimOrder, after: float) -> None:
        """Report PREPARED `prepare_after` seconds after `after`, then DONE (when configured)."""
        step = self.config.prepare_after
        if step is not None:
            self.later(self._progress(order, after + step, step))

    async def _progress(self, order: SimOrder, first: float, step: float) -> None:
        for status, wait in (("PREPARED", first), ("DONE", step)):
            await asyncio.sleep(wait)
            if order.status in ("CANCELED", "ERROR"):
                return
            await self.report(order, status, None)

    async def set_online(self, online: bool, reason: str | None) -> Outcome:
        """Report the store online or offline at once (store-status-changed)."""
        self.state.online = online
        body: dict[str, Any] = {
            "storeStatus": "ACTIVE" if online else "INACTIVE",
            "region": self.config.region,
            "updatedAt": iso(self.core.now()),
        }
        if reason:
            body["reason"] = reason
        path = f"/v1/stores/{self.state.store}/store-status-changed"
        label = f"store {'online' if online else 'offline'}"
        return await self.hub.send(f"store:{self.state.store}", Call("POST", path, body, label))


RBI_POS_KEY = web.AppKey("maitred.simulators.rbi_pos", RbiPosSim)
