"""One running RMS simulator: its settings, floor, bookings, received events and its sends."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from maitred.simulators.common import ApiError, SimConfig, SimCore
from maitred.simulators.hub import HubSender, Notification, Outcome
from maitred.simulators.rms_checks import CheckHistory

TABLE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "rms.simulators.maitred")


@dataclass(frozen=True)
class RmsConfig(SimConfig):
    """RMS simulator settings; `signing_secret` (whsec_…) turns on signature checks."""

    token: str = "rms-token"  # noqa: S105 - a stand-in's well-known default
    venue: str = "rms-venue-1"


@dataclass(frozen=True)
class RmsTable:
    """An RMS table: a uuid id and a short name."""

    id: str
    name: str


def default_floor() -> list[RmsTable]:
    """Twelve tables named 001…012 with stable uuid5 ids."""
    names = [f"{n:03d}" for n in range(1, 13)]
    return [RmsTable(id=str(uuid.uuid5(TABLE_NAMESPACE, name)), name=name) for name in names]


# The table ids of the contract's examples (seed 000's table listing, `rms_tables.json`).
CONTRACT_TABLE_IDS = {
    "001": "28c3ce8b-8c10-4a64-8099-f0dffcc549a8",
    "002": "00f8c6da-3967-4e56-98b9-5ee063b05292",
}


def contract_floor() -> list[RmsTable]:
    """The default floor with 001 and 002 under the contract examples' ids, so the contract's
    payloads can be sent verbatim."""
    return [RmsTable(id=CONTRACT_TABLE_IDS.get(t.name, t.id), name=t.name) for t in default_floor()]


FLOORS = {"default": default_floor, "contract": contract_floor}


@dataclass
class ReceivedEvent:
    """One pos_order webhook as the RMS received and judged it."""

    seq: int
    received_at: str
    webhook_id: str | None
    headers: dict[str, str]
    signature: str
    body: Any
    answered: int
    duplicate: bool = False
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The event for `GET /_sim/events`."""
        return {
            "seq": self.seq,
            "receivedAt": self.received_at,
            "webhookId": self.webhook_id,
            "headers": self.headers,
            "signature": self.signature,
            "body": self.body,
            "answered": self.answered,
            "duplicate": self.duplicate,
            "problems": self.problems,
        }


class RmsSim:
    """The RMS simulator's state and its outbound channel to maitred."""

    def __init__(self, config: RmsConfig) -> None:
        if config.floor not in FLOORS:
            raise ValueError(f"unknown floor {config.floor!r}; known: {', '.join(FLOORS)}")
        self.core = SimCore(name="rms", config=config)
        self.venue = config.venue
        self.tables = FLOORS[config.floor]()
        self.bookings: dict[str, dict[str, Any]] = {}
        self.events: list[ReceivedEvent] = []
        self.checks: dict[str, CheckHistory] = {}
        self.seen_webhook_ids: set[str] = set()
        self.hub = HubSender(self.core)
        self._next_booking = 1

    def table_ids(self) -> set[str]:
        """Every table id of this RMS."""
        return {t.id for t in self.tables}

    def translate_tables(self, tables: Any) -> list[str]:
        """Table ids or names (`"003"`) to ids; 400 on anything unknown."""
        if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
            raise ApiError(400, "tables must be a list of RMS table ids or names")
        by_name = {t.name: t.id for t in self.tables}
        ids = self.table_ids()
        unknown = [t for t in tables if t not in ids and t not in by_name]
        if unknown:
            raise ApiError(400, f"Unknown table(s): {', '.join(unknown)}")
        return [t if t in ids else by_name[t] for t in tables]

    def new_booking_id(self) -> str:
        """The next generated booking id."""
        booking_id = f"bk-{self._next_booking:04d}"
        self._next_booking += 1
        return booking_id

    async def send_booking(self, booking: dict[str, Any]) -> Outcome:
        """Send the booking's full state to `POST {hub}/rms`."""
        label = f"booking {booking['bookingId']} ({booking.get('status')})"
        return await self.hub.send(
            Notification("POST", lambda: "/rms", copy.deepcopy(booking), label)
        )


RMS_KEY = web.AppKey("maitred.simulators.rms", RmsSim)
