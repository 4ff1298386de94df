"""Engines for SQLite (WAL, one writer at a time) and PostgreSQL, built at start-up, never at
import. Writes go through `write_engine`; reads may use `read_engine` (the same engine on
PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool


@dataclass(frozen=True)
class Database:
    """The engines and session factories of one process."""

    url: str
    write_engine: Engine
    read_engine: Engine
    write_sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite file."""
        return self.write_engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    """A SQLite engine that runs its own BEGIN (IMMEDIATE for writers, so two writers queue on
    the busy timeout instead of failing on a lock upgrade) and uses WAL."""
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
    if url.startswith("sqlite"):
        write = _sqlite_engine(url, immediate=True)
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
    )


def make_throwaway_engine(url: str) -> Engine:
    """An unpooled engine for one-off administrative work (migrations, tests)."""
    return create_engine(normalize_url(url), poolclass=NullPool)
