"""Telling "the database is away" from every other failure, whatever layer raised it.

A job that isolates its own failures (a savepoint per booking, per outcome hook, per reconciled
order) must let these through: swallowed, the transaction is left unusable, the commit fails
with an error the writer cannot recognise, and what the job was recording is dropped. The hot
paths' plain statements raise the driver's own classes, which SQLAlchemy does not wrap.
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.exc import DBAPIError, OperationalError

_DRIVER_UNAVAILABLE = (
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database (server, connection or file lock) is unavailable,
    not that the job is wrong: retrying later is the answer."""
    if isinstance(exc, (OperationalError, *_DRIVER_UNAVAILABLE)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
