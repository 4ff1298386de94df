"""Coalescing concurrent RMS webhooks into one transaction issued from the event loop.

Every webhook that arrives while a batch is being written waits for the next batch; a batch
is written by `reservations.batch.receive_batch` with set-based statements in one transaction
of the loop's own connection (`maitred.db.batch.LoopWriter`, docs/decisions/0024): no hand-off
to a thread. When a statement of the batch fails, the transaction is rolled back and the batch
written again with a savepoint per webhook, so a failing webhook does not take the others down.
Each caller gets its answer only after the commit that made its rows durable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import structlog

from maitred.db.batch import BatchConnection, LoopWriter
from maitred.db.errors import database_unavailable
from maitred.errors import ServiceUnavailable
from maitred.reservations.batch import Incoming, receive_batch
from maitred.reservations.rules import BookingState
from maitred.reservations.service import Receipt

MAX_BATCH = 256
GATHER_STEPS = 2
log = structlog.get_logger(__name__)


@dataclass
class _Pending:
    incoming: Incoming
    future: asyncio.Future[Receipt] = field(repr=False)


class BookingIntake:
    """Feeds RMS webhooks to the loop's writer in batches, one batch in flight at a time."""

    def __init__(
        self,
        writer: LoopWriter,
        *,
        max_batch: int = MAX_BATCH,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._writer = writer
        self._max_batch = max_batch
        self._on_change = on_change  # called after a commit that stored a change
        self._queue: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None

    async def receive(
        self,
        *,
        partner_id: str,
        external_venue_id: str,
        state: BookingState,
        correlation_id: str | None,
    ) -> Receipt:
        """Store one webhook's booking state; returns once it is committed."""
        loop = asyncio.get_running_loop()
        incoming = Incoming(partner_id, external_venue_id, state, correlation_id)
        pending = _Pending(incoming, loop.create_future())
        self._queue.append(pending)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await pending.future

    async def _drain(self) -> None:
        if self._writer.is_sqlite:
            # The batch is written without yielding: let the requests read in this loop
            # iteration reach the queue first (two steps: their tasks start in the next one).
            for _ in range(GATHER_STEPS):
                await asyncio.sleep(0)
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            outcomes = await write(self._writer, [p.incoming for p in batch])
            if self._on_change is not None and any(_changed(o) for o in outcomes):
                self._on_change()
            for pending, outcome in zip(batch, outcomes, strict=True):
                if pending.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    pending.future.set_exception(outcome)
                else:
                    pending.future.set_result(outcome)


def _changed(outcome: Receipt | BaseException) -> bool:
    change = outcome.change if isinstance(outcome, Receipt) else None
    return change is not None and not change.is_noop


async def write(writer: LoopWriter, items: Sequence[Incoming]) -> list[Receipt | BaseException]:
    """Write the states in one transaction (committed when this returns): a receipt or an error
    each. Optimistically set-based; when a statement fails, the batch is written again with a
    savepoint per state so the failure takes no other state down."""
    try:
        return list(await writer.run(partial(receive_batch, items=items)))
    except ServiceUnavailable as exc:
        return [exc] * len(items)
    except Exception:
        log.info("intake batch written again state by state", states=len(items))
    try:
        return await writer.run(partial(_isolated, items=items))
    except Exception as exc:  # the whole transaction failed: every caller hears it
        return [exc] * len(items)


async def _isolated(
    connection: BatchConnection, *, items: Sequence[Incoming]
) -> list[Receipt | BaseException]:
    """Each state in its own savepoint: a receipt or the error it raised."""
    outcomes: list[Receipt | BaseException] = []
    for item in items:
        await connection.execute("SAVEPOINT intake")
        try:
            outcomes += await receive_batch(connection, [item])
        except Exception as exc:
            await connection.execute("ROLLBACK TO SAVEPOINT intake")
            if database_unavailable(exc):
                raise ServiceUnavailable() from exc
            outcomes.append(exc)
        await connection.execute("RELEASE SAVEPOINT intake")
    return outcomes
