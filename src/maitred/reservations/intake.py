"""Coalescing concurrent RMS webhooks into one writer job.

The writer already commits many jobs per transaction, but it wraps each job in an ORM SAVEPOINT
and each costs about as much as the booking's own SQL. Here every webhook that arrives while a
batch is being written waits for the next batch, which runs as *one* writer job with a plain
SAVEPOINT per webhook (so one failing webhook does not take the others down). Each caller still
gets its answer only after the commit that made its rows durable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from maitred.db.writer import Writer, after_commit
from maitred.errors import ServiceUnavailable
from maitred.reservations.rules import BookingState
from maitred.reservations.service import Receipt, receive_on

MAX_BATCH = 256


@dataclass
class _Pending:
    arguments: dict[str, Any]
    future: asyncio.Future[Receipt] = field(repr=False)


class BookingIntake:
    """Feeds RMS webhooks to the writer in batches, one batch in flight at a time."""

    def __init__(
        self,
        writer: Writer,
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
        arguments = {
            "partner_id": partner_id,
            "external_venue_id": external_venue_id,
            "state": state,
            "correlation_id": correlation_id,
        }
        pending = _Pending(arguments, loop.create_future())
        self._queue.append(pending)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await pending.future

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            outcomes: list[Receipt | BaseException]
            try:
                job = partial(
                    _write_batch, arguments=[p.arguments for p in batch], on_change=self._on_change
                )
                outcomes = list(await self._writer.run(job))
            except Exception as exc:  # the whole transaction failed: every caller hears it
                outcomes = [exc] * len(batch)
            for pending, outcome in zip(batch, outcomes, strict=True):
                if pending.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    pending.future.set_exception(outcome)
                else:
                    pending.future.set_result(outcome)


def _write_batch(
    session: Session,
    *,
    arguments: list[dict[str, Any]],
    on_change: Callable[[], None] | None = None,
) -> list[Receipt | Exception]:
    """Apply each webhook in its own savepoint (writer thread); a receipt or an error each."""
    connection = session.connection()
    outcomes: list[Receipt | Exception] = []
    changed = False
    for item in arguments:
        _savepoint(connection, "SAVEPOINT intake")
        try:
            receipt = receive_on(connection, **item)
            changed = changed or (receipt.change is not None and not receipt.change.is_noop)
            outcomes.append(receipt)
        except Exception as exc:
            _savepoint(connection, "ROLLBACK TO SAVEPOINT intake")
            if _unavailable(connection, exc):
                raise ServiceUnavailable() from exc
            outcomes.append(exc)
        _savepoint(connection, "RELEASE SAVEPOINT intake")
    if changed and on_change is not None:
        after_commit(session, on_change)
    return outcomes


def _savepoint(connection: Connection, statement: str) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(statement)
    cursor.close()


def _unavailable(connection: Connection, exc: Exception) -> bool:
    """True for driver errors that mean the database, not this webhook, is the problem."""
    dbapi: Any = connection.dialect.loaded_dbapi
    return isinstance(exc, dbapi.OperationalError | dbapi.InterfaceError)
