"""Group commit issued from the event loop: the hot paths' transactions run on a connection the
loop owns, one batch of many requests per transaction, with no hand-off to a thread.

The writer thread (`maitred.db.writer`) cost the ingest path a thread hop per batch and, worse,
the two threads contending for the GIL on a small machine (docs/decisions/0024). Here a batch is
written by the loop itself: on SQLite with the `sqlite3` module directly (a statement of a batch
takes microseconds, and the commit of a WAL file with `synchronous=NORMAL` does not sync), on
PostgreSQL with psycopg's async connection (the loop serves other requests while the batch's
round trips are in flight). A caller gets its result only once the transaction committed.

SQLite allows one writer at a time and the writer thread (traces, the worker, the admin API)
still writes too: the loop never waits on the file lock. Its connection has no busy timeout;
a `BEGIN IMMEDIATE` that finds the file locked is tried again after a short sleep on the loop
(the other requests keep being served), for `busy_seconds` at most, then the batch fails as
unavailable (503). Meanwhile the process's threads give the loop the next turn
(`maitred.db.engine.WriteTurn`), so back-to-back writer jobs cannot keep it waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar, cast

import structlog
from sqlalchemy.engine import make_url

from maitred.db.engine import Database
from maitred.db.errors import database_unavailable
from maitred.db.sql import sqlite_timestamp
from maitred.errors import ServiceUnavailable

if TYPE_CHECKING:  # loaded by the PostgreSQL paths only: a SQLite hub never needs the driver
    import psycopg

T = TypeVar("T")
log = structlog.get_logger(__name__)

Row = tuple[Any, ...]


class BatchConnection:
    """The statements a batch runs, for both databases: positional parameters written `?`
    (rewritten to `%s` for psycopg), rows as tuples."""

    dialect: str

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; its rows (none for a statement without RETURNING)."""
        raise NotImplementedError

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement, ignoring any rows."""
        raise NotImplementedError

    async def fetch_all(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """Run independent statements in order, sent together where the driver can (one round
        trip on PostgreSQL); the rows of each."""
        return [await self.fetch(sql, params) for sql, params in statements]

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per parameter row."""
        raise NotImplementedError

    def timestamp(self, value: Any) -> Any:
        """A UTC instant as the `Timestamp` column type stores it."""
        return value


class _SqliteBatch(BatchConnection):
    dialect = "sqlite"

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._raw.execute(sql, params).fetchall()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._raw.execute(sql, params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._raw.executemany(sql, rows)

    def timestamp(self, value: Any) -> Any:
        return sqlite_timestamp(value)


_QMARK = re.compile(r"\?")


def _pg(sql: str, cache: dict[str, str] = {}) -> str:  # noqa: B006 - a deliberate memo
    found = cache.get(sql)
    if found is None:
        found = cache[sql] = _QMARK.sub("%s", sql.replace("%", "%%"))
    return found


class _PostgresThreadBatch(BatchConnection):
    """PostgreSQL through a blocking psycopg connection, driven on the batch thread (the
    coroutines never suspend): psycopg's blocking waits cost a fraction of the CPU of its
    asyncio waits, several per statement (docs/decisions/0024)."""

    dialect = "postgresql"

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self._raw = raw

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = self._raw.execute(_pg(sql), params)
        return cursor.fetchall() if cursor.description is not None else []

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._raw.execute(_pg(sql), params)

    async def fetch_all(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        from psycopg.pq import TransactionStatus

        idle = self._raw.info.transaction_status == TransactionStatus.IDLE
        if len(statements) == 1 and not idle:
            return [await self.fetch(*statements[0])]
        # Pipeline mode: the statements (and the transaction's BEGIN, before the first) go out
        # together, their results come back together.
        cursors = [self._raw.cursor() for _ in statements]
        with self._raw.pipeline():
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                cursor.execute(_pg(sql), params)
        rows = [c.fetchall() if c.description is not None else [] for c in cursors]
        for cursor in cursors:
            cursor.close()
        return rows

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._raw.cursor() as cursor:
            cursor.executemany(_pg(sql), rows)


def _drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (a batch on `_PostgresThreadBatch`) to its end."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise RuntimeError("a batch job awaited something other than its connection")


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


# SQLite batches written by the loop between two WAL checkpoints, which run on a thread of their
# own: SQLite's automatic checkpoint ran inside the commit that crossed 1,000 WAL pages, so every
# ~14th P3 cycle blocked the loop 5-22 ms on the database file's fsync (docs/decisions/0035).
CHECKPOINT_EVERY = 16


class LoopWriter:
    """Runs batch jobs (`async fn(BatchConnection)`) one transaction at a time from the event
    loop that first used it; `fn` may raise to roll its transaction back."""

    def __init__(self, db: Database, *, busy_seconds: float = 30.0) -> None:
        self._db = db
        self._busy_seconds = busy_seconds
        self._lock: asyncio.Lock | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: psycopg.Connection[Any] | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._checkpointer: ThreadPoolExecutor | None = None
        self._checkpoint_db: sqlite3.Connection | None = None
        self._checkpointing: asyncio.Future[None] | None = None
        self._since_checkpoint = 0
        self.batches = 0

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite file."""
        return self._db.is_sqlite

    async def run(self, fn: Callable[[BatchConnection], Awaitable[T]]) -> T:
        """Run `fn` in a transaction of its own and commit; ServiceUnavailable (503) when the
        database is away or the SQLite file stayed locked."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            try:
                if self._db.is_sqlite:
                    return await self._run_sqlite(fn)
                return await self._run_postgres(fn)
            except ServiceUnavailable:
                raise
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                log.warning("loop batch failed", error=type(exc).__name__)
                await self._forget()
                raise ServiceUnavailable() from exc

    async def _run_sqlite(self, fn: Callable[[BatchConnection], Awaitable[T]]) -> T:
        raw = self._sqlite or self._open_sqlite()
        turn = self._db.turn
        deadline = time.monotonic() + self._busy_seconds
        pause = 0.0005
        waited = False
        try:
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if not _busy(exc) or time.monotonic() > deadline:
                        raise
                if not waited:  # this process's threads let the next transaction be ours
                    waited = True
                    turn.want()
                await asyncio.sleep(pause)  # the file is another writer's: serve requests
                pause = min(pause * 2, 0.001)
            try:
                result = await fn(_SqliteBatch(raw))
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise
        finally:
            if waited:
                turn.done()
        self.batches += 1
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY and self._checkpointing is None:
            self._start_checkpoint()
        return result

    def _start_checkpoint(self) -> None:
        """Copy the WAL into the database file on the checkpoint thread (the loop goes on)."""
        self._since_checkpoint = 0
        if self._checkpointer is None:
            self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="maitred-checkpoint")
        loop = asyncio.get_running_loop()
        self._checkpointing = loop.run_in_executor(self._checkpointer, self._checkpoint)
        self._checkpointing.add_done_callback(self._checkpointed)

    def _checkpoint(self) -> None:
        """A PASSIVE checkpoint: it waits for no reader or writer, and copies what it can."""
        raw = self._checkpoint_db
        if raw is None:
            path = make_url(self._db.url).database or ""
            raw = self._checkpoint_db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30
            )
        raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        self._checkpointing = None
        if not done.cancelled() and done.exception() is not None:
            log.warning("WAL checkpoint failed", error=repr(done.exception()))

    def _open_sqlite(self) -> sqlite3.Connection:
        path = make_url(self._db.url).database or ""
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute("PRAGMA busy_timeout=0")  # waiting for the lock happens on the loop (above)
        raw.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run off the loop (above)
        self._sqlite = raw
        return raw

    async def _run_postgres(self, fn: Callable[[BatchConnection], Awaitable[T]]) -> T:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="maitred-batch")
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._thread, self._postgres_batch, fn)
        self.batches += 1
        return result

    def _postgres_batch(self, fn: Callable[[BatchConnection], Awaitable[T]]) -> T:
        """One transaction on the batch thread (one hand-off per batch, not per request)."""
        raw = self._postgres
        if raw is None or raw.closed:
            import psycopg

            engine = self._db.write_engine
            _args, params = engine.dialect.create_connect_args(engine.url)
            raw = self._postgres = psycopg.Connection.connect(**params, connect_timeout=10)
        try:
            result = _drive(cast(Coroutine[Any, Any, T], fn(_PostgresThreadBatch(raw))))
            raw.commit()
        except BaseException:
            if not raw.closed and not raw.broken:
                raw.rollback()
            raise
        return result

    async def _forget(self) -> None:
        """Drop a connection the database failed under; the next batch opens a new one."""
        if self._postgres is not None:
            import psycopg

            connection, self._postgres = self._postgres, None
            with contextlib.suppress(psycopg.Error, OSError):  # already gone
                connection.close()
        if self._sqlite is not None and self._sqlite.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._sqlite.execute("ROLLBACK")

    async def close(self) -> None:
        """Close the connection (from the loop that used it)."""
        await self._forget()
        if self._checkpointing is not None:
            with contextlib.suppress(Exception):  # already logged
                await self._checkpointing
        if self._checkpointer is not None:
            self._checkpointer.shutdown(wait=True)
            self._checkpointer = None
        if self._checkpoint_db is not None:
            self._checkpoint_db.close()
            self._checkpoint_db = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
