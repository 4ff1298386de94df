"""PostgreSQL `LISTEN` feeding in-process callbacks (docs/decisions/0016): one dedicated
connection per process, reconnecting with backoff; `notify_sql` is what a writer job runs so
that PostgreSQL notifies every listener once the transaction commits (never if it rolls back).
SQLite has no such thing: there, a process is alone and wakes its own waiters."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

import structlog
from sqlalchemy import TextClause, text

from maitred.db.engine import normalize_url

log = structlog.get_logger(__name__)

BACKOFF = (0.1, 0.5, 1.0, 2.0, 5.0)


def notify_sql(channel: str, payload: str) -> tuple[TextClause, dict[str, str]]:
    """The statement (and its parameters) that notifies `channel` with `payload` at commit."""
    return text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg's own connection string."""
    return normalize_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


class Listener:
    """One `LISTEN` connection; each notification calls the callbacks of its channel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: dict[str, list[Callable[[str], None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._listening: set[str] = set()
        self.connected = False
        self.received = 0

    def add(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` for every notification on `channel` (listened to from the
        next (re)connection if the listener runs already)."""
        with self._lock:
            known = self._callbacks.setdefault(channel, [])
            if callback not in known:
                known.append(callback)

    async def start(self, url: str) -> None:
        """Start listening (no-op on SQLite, or when started already)."""
        if not normalize_url(url).startswith("postgresql") or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(
            self._run(libpq_url(url)), name="maitred-listen"
        )

    async def stop(self) -> None:
        """Stop listening."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.connected = False

    async def _run(self, url: str) -> None:
        import psycopg

        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    with self._lock:
                        channels = list(self._callbacks)
                    for channel in channels:
                        await conn.execute(f'LISTEN "{channel}"')
                    self.connected = True
                    failures = 0
                    async for note in conn.notifies():
                        self.received += 1
                        self._dispatch(note.channel, note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: poll meanwhile, reconnect
                log.warning("listen connection lost", error=type(exc).__name__)
            self.connected = False
            await asyncio.sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])
            failures += 1

    def _dispatch(self, channel: str, payload: str) -> None:
        with self._lock:
            callbacks = list(self._callbacks.get(channel, ()))
        for callback in callbacks:
            try:
                callback(payload)
            except Exception:
                log.exception("notification callback failed", channel=channel)


LISTENER = Listener()
