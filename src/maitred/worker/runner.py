"""Worker boot: the delivery dispatcher in its own process or inside `maitred serve`."""

from __future__ import annotations

from typing import Protocol

from maitred.config import Settings
from maitred.monitoring.service import TraceRecorder
from maitred.runtime import Runtime


class Stoppable(Protocol):
    """Something started that must be stopped."""

    async def stop(self) -> None:
        """Stop it."""
        ...


async def start_in_process(runtime: Runtime, recorder: TraceRecorder) -> Stoppable:
    """Start a dispatcher inside the serving process."""
    raise NotImplementedError


async def run_worker(settings: Settings) -> None:
    """Run a dispatcher until SIGTERM/SIGINT."""
    raise NotImplementedError
