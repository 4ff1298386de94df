"""Telling "the database is away" from every other failure, whatever layer raised it.

A job that isolates its own failures (a savepoint per booking, per outcome hook, per reconciled
order) must let these through: swallowed, the transaction is left unusable, the commit fails
with an error the writer cannot recognise, and what the job was recording is dropped. The hot
paths' plain statements raise the driver's own classes, which SQLAlchemy does not wrap.
"""

from __future__ import annotations

import sqlite3
import sys

from sqlalchemy.exc import DBAPIError, OperationalError

_SQLITE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)


def _driver_unavailable() -> tuple[type[BaseException], ...]:
    """The drivers' "unavailable" classes. psycopg's only once it is loaded: a hub on SQLite
    never imports it (9 MB of an idle server, docs/decisions/0037), and an error of a driver
    that was never loaded cannot be raised."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return _SQLITE_UNAVAILABLE
    return (*_SQLITE_UNAVAILABLE, psycopg.OperationalError, psycopg.InterfaceError)


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database (server, connection or file lock) is unavailable,
    not that the job is wrong: retrying later is the answer."""
    if isinstance(exc, (OperationalError, *_driver_unavailable())):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
