"""Engines for SQLite (WAL, one writer at a time) and PostgreSQL, built at start-up, never at
import. Writes go through `write_engine`; reads may use `read_engine` (the same engine on
PostgreSQL)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool


class WriteTurn:
    """Whose turn it is to write a SQLite file, between the event loop's batches and the
    threads of the same process.

    SQLite lets one connection write at a time and gives the lock to whoever asks when it is
    free. The loop's batches ask by polling (the loop must not block on the lock), a thread by
    SQLite's busy handler; a thread whose jobs follow one another (the writer, the worker's
    follow-up rounds) took the lock again within microseconds of its commit, so a loop batch
    could wait for a whole run of them: a booking behind seconds of background work. Now a
    loop batch that finds the file locked says so here, and a thread about to begin a write
    transaction lets it have the next one (for `GIVE_WAY_SECONDS` at most: the loop may be busy
    elsewhere). Other processes on the same file still meet on the file lock alone."""

    GIVE_WAY_SECONDS = 0.25

    def __init__(self) -> None:
        self._free = threading.Event()
        self._free.set()
        self._loop_thread: int | None = None

    def want(self) -> None:
        """The loop found the file locked: the next write transaction is its."""
        self._loop_thread = threading.get_ident()
        self._free.clear()

    def done(self) -> None:
        """The loop's batch ended (committed or rolled back)."""
        self._free.set()

    def give_way(self) -> None:
        """Before a thread's write transaction: wait while the loop waits for the file."""
        if self._free.is_set() or threading.get_ident() == self._loop_thread:
            return
        self._free.wait(self.GIVE_WAY_SECONDS)


@dataclass(frozen=True)
class Database:
    """The engines and session factories of one process."""

    url: str
    write_engine: Engine
    read_engine: Engine
    write_sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    turn: WriteTurn = field(default_factory=WriteTurn)  # SQLite: see `WriteTurn`

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite file."""
        return self.write_engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def _sqlite_engine(url: str, *, immediate: bool, turn: WriteTurn | None = None) -> Engine:
    """A SQLite engine that runs its own BEGIN (IMMEDIATE for writers, so two writers queue on
    the busy timeout instead of failing on a lock upgrade, after giving way to the event loop's
    batches: `turn`) and uses WAL."""
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (savepoints work)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if turn is not None:
            turn.give_way()
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` and `postgres://` URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_database(url: str, *, pool_size: int = 10) -> Database:
    """Build the engines for `url`."""
    url = normalize_url(url)
    turn = WriteTurn()
    if url.startswith("sqlite"):
        write = _sqlite_engine(url, immediate=True, turn=turn)
        read = _sqlite_engine(url, immediate=False)
    else:
        write = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        read = write
    return Database(
        url=url,
        write_engine=write,
        read_engine=read,
        write_sessions=sessionmaker(write, expire_on_commit=False),
        read_sessions=sessionmaker(read, expire_on_commit=False),
        turn=turn,
    )


def make_throwaway_engine(url: str) -> Engine:
    """An unpooled engine for one-off administrative work (migrations, tests)."""
    return create_engine(normalize_url(url), poolclass=NullPool)
