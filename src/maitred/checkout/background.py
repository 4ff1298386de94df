"""What the channel-order loops of a process share (the lead-time and wait timers, the store
heartbeats): one task started on the running loop and cancelled at stop."""

from __future__ import annotations

import asyncio
import contextlib

from maitred.runtime import Runtime


class BackgroundLoop:
    """A loop task of the process: `_loop` runs from `start` until `stop`."""

    name = "background"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.passes = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop."""
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Stop the loop."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        raise NotImplementedError
