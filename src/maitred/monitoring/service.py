"""Recording traces without slowing the call they describe: records are buffered and written in
batches off the request path, from the event loop when the recorder has the loop's writer (one
plain multi-row statement per flush, docs/decisions/0026), else through the writer thread.
A crash loses at most the last flush interval's traces, never what they describe. Traces of
requests no valid key was shown for are kept to the newest few (docs/decisions/0008)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import Table, and_, delete, insert, select
from sqlalchemy.orm import Session

from maitred.db.batch import BatchConnection, LoopWriter
from maitred.db.writer import Writer
from maitred.monitoring.models import Trace
from maitred.security import redact_url

log = structlog.get_logger(__name__)


@dataclass
class TraceRecord:
    """One call, already redacted and truncated."""

    at: datetime
    direction: str
    method: str
    url: str
    status_code: int | None
    duration_ms: float
    partner_id: str | None = None
    venue_id: str | None = None
    request_headers: dict[str, Any] | None = None
    request_body: str | None = None
    response_body: str | None = None
    error: str | None = None
    correlation_id: str | None = None
    delivery_id: int | None = None
    outcome: str = field(default="")
    headers_json: str | None = None  # `request_headers` as JSON text, when the caller has it

    @property
    def unauthenticated(self) -> bool:
        """An inbound call no valid key was shown for (a stranger's, or a partner's mistake)."""
        return self.direction == "inbound" and self.partner_id is None

    def row(self) -> dict[str, Any]:
        """Column values for an insert (the URL's secret-looking query parameters redacted)."""
        outcome = self.outcome or (
            "success"
            if self.status_code is not None and 200 <= self.status_code < 300
            else "failed"
        )
        return {
            "at": self.at,
            "direction": self.direction,
            "partner_id": self.partner_id,
            "venue_id": self.venue_id,
            "method": self.method,
            "url": redact_url(self.url),
            "status_code": self.status_code,
            "outcome": outcome,
            "duration_ms": round(self.duration_ms, 3),
            "request_headers": self.request_headers,
            "request_body": self.request_body,
            "response_body": self.response_body,
            "error": self.error,
            "correlation_id": self.correlation_id,
            "delivery_id": self.delivery_id,
        }

    def values(self, connection: BatchConnection) -> tuple[Any, ...]:
        """The row for `INSERT_TRACES` (the columns of `row`, JSON as text), built directly:
        this runs once per inbound request."""
        headers = self.headers_json
        if headers is None and self.request_headers is not None:
            headers = json.dumps(self.request_headers, separators=(",", ":"))
        outcome = self.outcome or (
            "success"
            if self.status_code is not None and 200 <= self.status_code < 300
            else "failed"
        )
        return (
            connection.timestamp(self.at), self.direction, self.partner_id, self.venue_id,
            self.method, redact_url(self.url), self.status_code, outcome,
            round(self.duration_ms, 3), headers, self.request_body, self.response_body,
            self.error, self.correlation_id, self.delivery_id,
        )  # fmt: skip


_COLUMNS = (
    "at", "direction", "partner_id", "venue_id", "method", "url", "status_code", "outcome",
    "duration_ms", "request_headers", "request_body", "response_body", "error",
    "correlation_id", "delivery_id",
)  # fmt: skip
# Built from the constant column names above (the values travel as parameters).
INSERT_TRACES = (
    f"INSERT INTO traces ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"  # noqa: S608
)

TRACES = cast(Table, Trace.__table__)
_UNAUTHENTICATED = and_(TRACES.c.direction == "inbound", TRACES.c.partner_id.is_(None))


def insert_traces(session: Session, records: list[TraceRecord]) -> None:
    """Write trace records inside the caller's transaction (a Core executemany on the table: the
    ORM bulk path cost more than the rows themselves)."""
    if records:
        session.connection().execute(insert(TRACES), [r.row() for r in records])


def prune_unauthenticated(session: Session, keep: int) -> None:
    """Delete all but the newest `keep` traces of unauthenticated calls. Both statements walk
    the `(partner_id, at)` index from its newest NULL-partner entry, so the cost is `keep`
    index entries whatever the size of the partners' traces."""
    newest = select(TRACES.c.at).where(_UNAUTHENTICATED).order_by(TRACES.c.at.desc())
    cutoff = newest.offset(keep).limit(1).scalar_subquery()
    session.connection().execute(delete(TRACES).where(_UNAUTHENTICATED, TRACES.c.at <= cutoff))


class TraceRecorder:
    """Buffers trace records and writes them in batches; keeps at most about `keep_unauthenticated`
    traces of unauthenticated calls (None: all)."""

    def __init__(
        self,
        writer: Writer,
        *,
        batches: LoopWriter | None = None,
        flush_every: float = 0.2,
        max_buffer: int = 500,
        keep_unauthenticated: int | None = None,
    ):
        self._writer = writer
        self._batches = batches
        self._flushing: set[asyncio.Task[None]] = set()
        self._flush_every = flush_every
        self._max_buffer = max_buffer
        self._keep = keep_unauthenticated
        # Pruning reads `keep` index entries: done once a hundredth of `keep` new ones came in.
        self._prune_every = max(1, (keep_unauthenticated or 0) // 100)
        self._unpruned = 0
        self._buffer: list[TraceRecord] = []
        self._task: asyncio.Task[None] | None = None

    def record(self, record: TraceRecord) -> None:
        """Queue a record; it is written within `flush_every` seconds."""
        self._buffer.append(record)
        if len(self._buffer) >= self._max_buffer:
            self._flush_now()

    def _prune_due(self, batch: list[TraceRecord]) -> bool:
        """Count the batch's unauthenticated traces; True when pruning them is due."""
        self._unpruned += sum(record.unauthenticated for record in batch)
        prune = self._keep is not None and self._unpruned >= self._prune_every
        if prune:
            self._unpruned = 0
        return prune

    def _write(self, batch: list[TraceRecord]) -> Callable[[Session], None]:
        """The writer job for one batch, pruning the unauthenticated traces when it is due."""
        prune = self._prune_due(batch)
        keep = self._keep or 0

        def job(session: Session) -> None:
            insert_traces(session, batch)
            if prune:
                prune_unauthenticated(session, keep)

        return job

    def _flush_now(self) -> None:
        batch, self._buffer = self._buffer, []
        if not batch:
            return
        if self._batches is None:
            self._writer.submit(self._write(batch))
            return
        task = asyncio.get_running_loop().create_task(self._write_on_loop(batch))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _write_on_loop(self, batch: list[TraceRecord]) -> None:
        """One statement for the batch, from the loop; pruning (rare) through the writer."""
        assert self._batches is not None
        prune = self._prune_due(batch)

        async def insert(connection: BatchConnection) -> None:
            await connection.executemany(INSERT_TRACES, [r.values(connection) for r in batch])

        try:
            await self._batches.run(insert)
        except Exception as exc:  # a trace is lost, never what it describes
            log.warning("traces not written", traces=len(batch), error=type(exc).__name__)
            return
        if prune:
            keep = self._keep or 0
            await self._writer.run(lambda session: prune_unauthenticated(session, keep))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_every)
            self._flush_now()

    def start(self) -> None:
        """Start the periodic flush (needs a running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Flush what is left and wait for it."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._flush_now()
        while self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        batch, self._buffer = self._buffer, []
        if batch:
            await self._writer.run(self._write(batch))
