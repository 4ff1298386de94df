"""In-process caches of rarely changed rows, kept correct by a generation the database keeps.

The rows a POS update looks up on every call (which venue a partner's venue id is, where the
venue's RMS listens, how its tables translate) change a few times a day, through the admin API,
`maitred apply`, the CLI or the worker's table refresh, possibly in another process. Triggers
(migration 0003) give the `routing` generation a new random value in the very
transaction that changes `venue_links`, a partner's webhook URL or contract, an endpoint's URL
or the table mappings. A job reads the generation first (one single-row statement), and the
process's cache of that database answers only while it holds the same value: what was loaded
before a change is dropped by the first job that runs after it commits, in any process.

Random rather than counted values: a change rolled back after a job of the same transaction
read it must not come back as a "new" generation that happens to equal the cached one.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Connection, Engine, String
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base
from maitred.db.sql import dialect_sql, execute

T = TypeVar("T")
ROUTING = "routing"
MAX_ENTRIES = 10_000  # past this, a cache starts again empty (one venue's rows are a few)


class Generation(Base):
    """A value the triggers replace whenever the rows a cache depends on change."""

    __tablename__ = "generations"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


_READ = dialect_sql("SELECT value FROM generations WHERE name = :name")


class Cache:
    """One database's cached lookups, valid for one generation."""

    def __init__(self) -> None:
        self.generation: int | None = None
        self._values: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def renew(self, generation: int | None) -> None:
        """Keep the entries if `generation` is the one they were loaded under, else drop them.
        None (no generation row: a database not migrated yet) keeps nothing."""
        with self._lock:
            if generation is None or generation != self.generation:
                self._values = {}
            self.generation = generation

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The cached value of `key`, loaded (in the caller's transaction) when missing."""
        values = self._values
        if key in values:
            return values[key]  # type: ignore[no-any-return]
        value = load()
        if self.generation is not None:
            with self._lock:
                if values is self._values:  # not renewed meanwhile
                    if len(values) >= MAX_ENTRIES:
                        values.clear()
                    values[key] = value
        return value

    def clear(self) -> None:
        """Drop every entry (this process changed what they were loaded from)."""
        with self._lock:
            self._values = {}


_caches: weakref.WeakKeyDictionary[Engine, Cache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def current(connection: Connection, name: str = ROUTING) -> Cache:
    """The cache of `connection`'s database, checked against the generation as this
    transaction sees it. Read the generation before anything the cache loads (so an entry is
    never older than the generation it is kept under): call this first in a job."""
    engine = connection.engine
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = Cache()
    cursor = execute(connection, _READ, {"name": name})
    row = cursor.fetchone()
    cursor.close()
    cache.renew(None if row is None else int(row[0]))
    return cache


def forget(connection: Connection) -> None:
    """Drop the cached entries of `connection`'s database (after this job changed their rows:
    its own later lookups would otherwise read the generation it has not committed)."""
    cache = _caches.get(connection.engine)
    if cache is not None:
        cache.clear()
