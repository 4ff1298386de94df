"""One running POS simulator: its settings, state, faults, and notifications to maitred."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from maitred.simulators.common import SimConfig, SimCore
from maitred.simulators.hub import HubSender, Notification, Outcome
from maitred.simulators.pos_state import Order, PosState
from maitred.simulators.pos_wire import order_payload


@dataclass(frozen=True)
class PosConfig(SimConfig):
    """POS simulator settings (`token` is what maitred must present; `hub_key` what we present)."""

    token: str = "pos-token"  # noqa: S105 - a stand-in's well-known default
    venue: str = "pos-venue-1"


class PosSim:
    """The POS simulator's state and its outbound channel to maitred."""

    def __init__(self, config: PosConfig) -> None:
        self.core = SimCore(name="pos", config=config)
        self.state = PosState(config.venue, config.floor)
        self.hub = HubSender(self.core)

    async def notify(self, order: Order, kind: str) -> Outcome:
        """Tell maitred about an order: `create` (walk-in), `update`, `close` or `void`."""
        base = f"/v1/pos/{self.state.venue}/order"
        body = order_payload(order)
        label = f"{kind} order {order.id}"
        if kind == "create":
            note = Notification(
                "POST", lambda: base, body, label, on_answer=lambda s, b: _remember(order, s, b)
            )
        else:
            suffix = "" if kind == "update" else f"/{kind}"
            note = Notification(
                "PUT", lambda: f"{base}/{order.hub_id or order.id}{suffix}", body, label
            )
        return await self.hub.send(note)


def _remember(order: Order, status: int, body: Any) -> None:
    """Keep maitred's order id from its answer to a walk-in create."""
    if 200 <= status < 300 and isinstance(body, dict) and isinstance(body.get("id"), str):
        order.hub_id = body["id"]


POS_KEY = web.AppKey("maitred.simulators.pos", PosSim)
