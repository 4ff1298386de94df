"""The channel-order timers (docs/decisions/0016), run by the worker (and `maitred serve`):

- the lead time: a committed order moves to PREPARING when `fire_due_at` comes, even if the
  hub restarted in between (the due time is a column, not a task in memory);
- the wait sweep: an order still waiting for a price or commit callback past its deadline
  (its waiter died with its process, or it was a place, which nobody waits for) is timed out.

Each pass first asks a read connection whether anything is due, so an idle hub costs no
writer job."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from maitred.channel_orders.models import ChannelOrder
from maitred.checkout import flow
from maitred.checkout.background import BackgroundLoop
from maitred.clock import get_clock, now
from maitred.errors import ServiceUnavailable
from maitred.runtime import Runtime

log = structlog.get_logger(__name__)

GRACE = 1.0  # seconds past a wait's deadline before the sweep steps in for its waiter
MAX_PERIOD = 0.5  # seconds between two passes at most: a lead time is kept to about this


def _due(session: Session) -> tuple[bool, bool]:
    at = now()
    fires = session.scalar(
        select(exists().where(ChannelOrder.status == "committed", ChannelOrder.fire_due_at <= at))
    )
    waits = session.scalar(
        select(
            exists().where(
                ChannelOrder.awaiting != "",
                ChannelOrder.wait_deadline_at <= at - timedelta(seconds=GRACE),
            )
        )
    )
    return bool(fires), bool(waits)


async def one_pass(runtime: Runtime) -> tuple[int, int]:
    """Apply every due lead time and overdue wait once; (fired, timed out)."""

    def check() -> tuple[bool, bool]:
        with runtime.db.read_sessions() as session:
            return _due(session)

    fires, waits = await asyncio.to_thread(check)
    ctx = flow.Context.of(runtime.settings)
    fired = await runtime.writer.run(flow.sweep_fires(ctx)) if fires else 0
    timed_out = await runtime.writer.run(flow.sweep_waits(ctx, grace=GRACE)) if waits else 0
    return fired, timed_out


class ChannelTimers(BackgroundLoop):
    """Runs `one_pass` every poll interval (at most `MAX_PERIOD`) until stopped."""

    name = "channel-timers"  # its first pass applies what came due while the hub was down

    async def _loop(self) -> None:
        period = min(self.runtime.settings.poll_interval, MAX_PERIOD)
        while True:
            try:
                await one_pass(self.runtime)
            except ServiceUnavailable:
                log.warning("channel timers postponed: database unavailable")
            except Exception:
                log.exception("channel timers pass failed")
            self.passes += 1
            await get_clock().sleep(period)
