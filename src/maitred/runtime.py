"""What one process holds while it runs: settings, database, writer, secrets, HTTP session.

Built at start-up (app lifespan, worker boot, CLI command), never at import. It knows no
domain: what the domains hook into the process is installed by `maitred.boot`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

from maitred.clock import ScaledClock, set_clock
from maitred.config import Settings
from maitred.db.batch import LoopWriter
from maitred.db.engine import Database, make_database
from maitred.db.writer import Writer
from maitred.security import SecretBox

T = TypeVar("T")


@dataclass
class Runtime:
    """The process's long-lived resources."""

    settings: Settings
    db: Database
    writer: Writer
    secrets: SecretBox
    batches: LoopWriter  # the hot paths' transactions, issued from the event loop
    http: aiohttp.ClientSession | None = None
    extras: dict[str, object] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Engines, writer thread and secret box for `settings` (no network yet)."""
        if settings.clock_speed != 1.0:
            set_clock(ScaledClock(settings.clock_speed))
        db = make_database(settings.database_url)
        writer = Writer(db)
        writer.start()
        box = SecretBox.from_settings(settings.secret_key, settings.data_dir)
        batches = LoopWriter(db)
        return cls(settings=settings, db=db, writer=writer, secrets=box, batches=batches)

    async def open_http(self) -> aiohttp.ClientSession:
        """The one outbound HTTP session of this process."""
        if self.http is None or self.http.closed:
            from maitred.transport import make_session

            self.http = make_session(self.settings)
        return self.http

    def spawn(self, work: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
        """Run `work` in the background on the running loop; `close` cancels it if unfinished."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def close(self) -> None:
        """Release everything (background work first: it may still use the rest)."""
        for task in list(self.tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.http is not None and not self.http.closed:
            await self.http.close()
        await self.batches.close()
        self.writer.stop()
        self.db.dispose()
