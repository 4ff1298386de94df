"""Wakes this process's dispatcher when a delivery is committed, so it need not wait a poll."""

from __future__ import annotations

import asyncio
import threading

_lock = threading.Lock()
_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []


def subscribe(event: asyncio.Event) -> None:
    """Set `event` (from any thread) whenever `notify` is called."""
    with _lock:
        _waiters.append((asyncio.get_running_loop(), event))


def unsubscribe(event: asyncio.Event) -> None:
    """Stop waking `event`."""
    with _lock:
        _waiters[:] = [(loop, e) for loop, e in _waiters if e is not event]


def notify() -> None:
    """Wake every subscribed dispatcher (called after a commit that added deliveries)."""
    with _lock:
        waiters = list(_waiters)
    for loop, event in waiters:
        if not loop.is_closed():
            loop.call_soon_threadsafe(event.set)
