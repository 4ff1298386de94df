"""In-process wake-up signals: a commit in the writer thread wakes the loops that wait for
its kind of work (the delivery dispatcher, the booking follow-ups), so they need not poll."""

from __future__ import annotations

import asyncio
import threading


class Signal:
    """Sets every subscribed asyncio event, from any thread, when notified."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def subscribe(self, event: asyncio.Event) -> None:
        """Set `event` whenever `notify` is called (call from the event's loop)."""
        with self._lock:
            self._waiters.append((asyncio.get_running_loop(), event))

    def unsubscribe(self, event: asyncio.Event) -> None:
        """Stop waking `event`."""
        with self._lock:
            self._waiters[:] = [(loop, e) for loop, e in self._waiters if e is not event]

    def notify(self) -> None:
        """Wake every subscriber."""
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)


deliveries = Signal()  # a delivery was committed
followups = Signal()  # a booking change was committed
tables = Signal()  # a venue's tables are due to be fetched (its links changed)
