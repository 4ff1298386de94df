"""Coalescing concurrent RMS webhooks into one writer job.

The writer already commits many jobs per transaction, but it wraps each job in an ORM SAVEPOINT
and each costs about as much as the booking's own SQL. Here every webhook that arrives while a
batch is being written waits for the next batch, which runs as *one* writer job in one plain
SAVEPOINT (written again with one per webhook when one fails, so a failing webhook does not take
the others down). Each caller still gets its answer only after the commit that made its rows
durable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from maitred.db.errors import database_unavailable
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
    """Apply the webhooks (writer thread); a receipt or an error each.

    Optimistically all in one savepoint: on PostgreSQL a savepoint per webhook was two of its
    seven round trips. When one webhook fails, the batch is rolled back to that savepoint and
    written again with a savepoint per webhook, so the failure takes no other webhook down."""
    connection = session.connection()
    _savepoint(connection, "SAVEPOINT intake_batch")
    try:
        receipts = [receive_on(connection, **item) for item in arguments]
    except Exception as exc:
        _savepoint(connection, "ROLLBACK TO SAVEPOINT intake_batch")
        if database_unavailable(exc):
            raise ServiceUnavailable() from exc
        outcomes = _isolated(connection, arguments)
    else:
        outcomes = list(receipts)
    _savepoint(connection, "RELEASE SAVEPOINT intake_batch")
    changed = any(
        isinstance(o, Receipt) and o.change is not None and not o.change.is_noop for o in outcomes
    )
    if changed and on_change is not None:
        after_commit(session, on_change)
    return outcomes


def _isolated(connection: Connection, arguments: list[dict[str, Any]]) -> list[Receipt | Exception]:
    """Each webhook in its own savepoint: a receipt or the error it raised."""
    outcomes: list[Receipt | Exception] = []
    for item in arguments:
        _savepoint(connection, "SAVEPOINT intake")
        try:
            outcomes.append(receive_on(connection, **item))
        except Exception as exc:
            _savepoint(connection, "ROLLBACK TO SAVEPOINT intake")
            if database_unavailable(exc):
                raise ServiceUnavailable() from exc
            outcomes.append(exc)
        _savepoint(connection, "RELEASE SAVEPOINT intake")
    return outcomes


def _savepoint(connection: Connection, statement: str) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(statement)
    cursor.close()
