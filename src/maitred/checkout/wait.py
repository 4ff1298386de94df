"""The bounded wait of a channel's price or commit (docs/decisions/0016 "The bounded wait").

A route that sent a price or commit webhook waits here for its order to move. The job that
applies the POS's callback wakes the waiters of its order: in this process by the writer's
after-commit signal, in the others by PostgreSQL `NOTIFY` (`maitred.db.notify`); a waiter also
re-reads its order every `poll` seconds in case a wake-up was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.channel_orders.models import ChannelOrder
from maitred.channel_orders.rules import Leg
from maitred.clock import now
from maitred.db import notify
from maitred.db.writer import after_commit

log = structlog.get_logger(__name__)

CHANNEL = "maitred_channel_orders"


class Waiters:
    """The orders this process waits on, each with the events to set when it moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_order: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def add(self, order_id: str) -> asyncio.Event:
        """An event set whenever `order_id` moves (call from the waiting loop)."""
        event = asyncio.Event()
        with self._lock:
            self._by_order.setdefault(order_id, []).append((asyncio.get_running_loop(), event))
        return event

    def remove(self, order_id: str, event: asyncio.Event) -> None:
        """Stop waking `event`."""
        with self._lock:
            kept = [(loop, e) for loop, e in self._by_order.get(order_id, []) if e is not event]
            if kept:
                self._by_order[order_id] = kept
            else:
                self._by_order.pop(order_id, None)

    def wake(self, order_id: str) -> None:
        """Wake the waiters of `order_id` (from any thread)."""
        with self._lock:
            waiting = list(self._by_order.get(order_id, ()))
        for loop, event in waiting:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def count(self) -> int:
        """How many orders are waited on."""
        with self._lock:
            return len(self._by_order)


WAITERS = Waiters()


async def start(url: str) -> None:
    """Listen for orders moved by other processes (PostgreSQL; nothing to do on SQLite)."""
    notify.LISTENER.add(CHANNEL, WAITERS.wake)
    await notify.LISTENER.start(url)


async def stop() -> None:
    """Stop listening."""
    await notify.LISTENER.stop()


def moved(session: Session, order_id: str) -> None:
    """In a writer job that changed `order_id`: wake its waiters once the job commits, here and
    (PostgreSQL) in every process listening."""
    after_commit(session, lambda: WAITERS.wake(order_id))
    if session.get_bind().dialect.name == "postgresql":
        # Delivered by PostgreSQL only if the transaction commits.
        statement, params = notify.notify_sql(CHANNEL, order_id)
        session.execute(statement, params)


def _version(sessions: Callable[[], Session], order_id: str) -> int | None:
    with sessions() as session:
        return session.scalar(select(ChannelOrder.version).where(ChannelOrder.id == order_id))


def still_waiting(
    sessions: Callable[[], Session], order_id: str, leg: Leg
) -> tuple[int, datetime | None] | None:
    """The order's version and wait deadline if it still waits for `leg`'s callback (a
    re-price asked again), else None."""
    with sessions() as session:
        row = session.execute(
            select(
                ChannelOrder.version, ChannelOrder.awaiting, ChannelOrder.wait_deadline_at
            ).where(ChannelOrder.id == order_id)
        ).one_or_none()
    if row is None or leg.value not in row.awaiting.split(","):
        return None
    return row.version, row.wait_deadline_at


async def until_moved(
    sessions: Callable[[], Session],
    order_id: str,
    *,
    version: int,
    deadline_seconds: float,
    poll: float,
) -> bool:
    """Wait until the order's version passes `version` (True), or `deadline_seconds` pass
    (False). Reads run in a thread: a read must not block the event loop."""
    event = WAITERS.add(order_id)
    loop = asyncio.get_running_loop()
    ends = loop.time() + deadline_seconds
    try:
        while True:
            event.clear()
            current = await asyncio.to_thread(_version, sessions, order_id)
            if current is None or current > version:
                return True
            left = ends - loop.time()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=min(left, poll))
    finally:
        WAITERS.remove(order_id, event)


def deadline_left(deadline: datetime | None) -> float:
    """Seconds until `deadline`, never negative (0 without one)."""
    if deadline is None:
        return 0.0
    return max(0.0, (deadline - now()).total_seconds())
