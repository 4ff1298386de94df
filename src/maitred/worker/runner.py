"""Worker boot: the delivery dispatcher in its own process or inside `maitred serve`."""

from __future__ import annotations

import asyncio
import signal
from typing import Protocol

import structlog

from maitred.config import Settings
from maitred.deliveries.dispatcher import Dispatcher
from maitred.monitoring.service import TraceRecorder
from maitred.runtime import Runtime

log = structlog.get_logger(__name__)


class Stoppable(Protocol):
    """Something started that must be stopped."""

    async def stop(self) -> None:
        """Stop it."""
        ...


async def start_in_process(runtime: Runtime, recorder: TraceRecorder) -> Stoppable:
    """Start a dispatcher inside the serving process."""
    # Outbound traces are written with each batch of results, in the same transaction as the
    # attempts, so the serving process's recorder (inbound traces) is not needed here.
    del recorder
    dispatcher = Dispatcher(runtime)
    await dispatcher.start()
    return dispatcher


async def run_worker(settings: Settings) -> None:
    """Run a dispatcher until SIGTERM/SIGINT, then finish the sends in flight and exit."""
    runtime = Runtime.build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    dispatcher = Dispatcher(runtime)
    try:
        await dispatcher.start()
        await stop.wait()
        log.info("stopping worker", worker_id=dispatcher.worker_id)
        await dispatcher.stop()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await runtime.close()
