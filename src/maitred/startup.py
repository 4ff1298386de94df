"""Starting a process: finding its database (creating it only where that is the point), and
saying in one line what it runs against.

Only `serve`, `worker`, `db upgrade` and `demo` create a database and a key file. Every other
command opens what exists, or stops with a `SetupError` that names the database it looked
for and how to point at the right one, so that running a command in the wrong directory does
not leave an empty `maitred.db` behind.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine, normalize_url
from maitred.errors import SetupError
from maitred.runtime import Runtime

log = structlog.get_logger("maitred")

POINT_AT_IT = (
    "set MAITRED_DATABASE_URL to the database `maitred serve` uses "
    "(and MAITRED_DATA_DIR to the directory of its maitred.key)"
)


def shown_url(url: str) -> str:
    """The database URL with its password hidden (`***`), relative SQLite paths made absolute."""
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError:
        return url.split("@")[-1] if "@" in url else url
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(parsed.database or "").resolve()))
    return parsed.render_as_string(hide_password=True)


def _parsed(settings: Settings) -> URL:
    try:
        return make_url(normalize_url(settings.database_url))
    except ArgumentError as exc:
        raise SetupError(
            f"MAITRED_DATABASE_URL={shown_url(settings.database_url)}: not a database URL "
            "(e.g. sqlite:///maitred.db or postgresql://user@host/db)"
        ) from exc


def key_location(settings: Settings) -> str:
    """Where the secret key comes from: the environment, or the key file's path."""
    if settings.secret_key:
        return "MAITRED_SECRET_KEY"
    return str((settings.data_dir / "maitred.key").resolve())


def announce(settings: Settings, command: str) -> None:
    """The one start-up line: database, admin API, loopback, key."""
    log.info(
        "starting",
        command=command,
        database=shown_url(settings.database_url),
        admin_api="open" if settings.admin_token else "closed (MAITRED_ADMIN_TOKEN unset)",
        loopback="allowed" if settings.allow_loopback else "refused",
        key=key_location(settings),
    )


def probe(settings: Settings) -> bool:
    """Connect once; True when maitred's schema is there. SetupError naming the database (its
    password hidden) and the driver's reason when it cannot be reached."""
    url = _parsed(settings)
    try:
        engine = make_throwaway_engine(settings.database_url)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise SetupError(f"MAITRED_DATABASE_URL={shown_url(str(url))}: {exc}") from exc
    try:
        with engine.connect() as connection:
            return bool(inspect(connection).has_table("alembic_version"))
    except DBAPIError as exc:
        reason = _reason(exc, url)
        raise SetupError(f"cannot reach the database {shown_url(str(url))}: {reason}") from exc
    finally:
        engine.dispose()


def _reason(exc: DBAPIError, url: URL) -> str:
    """The driver's first line of explanation, with the password out of it."""
    text = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__
    return text.replace(url.password, "***") if url.password else text


def require_database(settings: Settings) -> None:
    """SetupError unless the configured database exists with a current maitred schema (a
    missing SQLite file is not created)."""
    from maitred.db.migrate import is_current

    url = _parsed(settings)
    where = shown_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or not Path(database).exists():
            raise SetupError(
                f"no maitred database at {where} (MAITRED_DATABASE_URL, relative to the "
                f"current directory {Path.cwd()}); {POINT_AT_IT}, or create one with "
                "`maitred db upgrade`"
            )
    if not probe(settings):
        raise SetupError(
            f"the database {where} has no maitred schema; {POINT_AT_IT}, "
            "or create it there with `maitred db upgrade`"
        )
    if not is_current(settings.database_url):
        raise SetupError(
            f"the database {where} has an older schema; run `maitred db upgrade` first"
        )


def require_key(settings: Settings) -> None:
    """SetupError unless the secret key is set or its file exists (another key would not
    decrypt the stored secrets, so none is generated here)."""
    if settings.secret_key or (settings.data_dir / "maitred.key").exists():
        return
    raise SetupError(
        f"no secret key: MAITRED_SECRET_KEY is unset and {key_location(settings)} does not "
        "exist; set MAITRED_DATA_DIR to the directory `maitred serve` keeps maitred.key in, "
        "or MAITRED_SECRET_KEY to the key"
    )


def prepare(settings: Settings, command: str, *, migrate: bool = True) -> None:
    """For the commands that may create: reach the database, bring its schema up to date (when
    `migrate`, in a child process: the server runs on without the migration tool loaded), and
    say what the process runs against."""
    announce(settings, command)
    if migrate:
        from maitred.db.migrate import upgrade_apart

        probe(settings)
        upgrade_apart(settings.database_url)
    elif not probe(settings):
        raise SetupError(
            f"the database {shown_url(settings.database_url)} has no maitred schema; "
            "run `maitred db upgrade` (or `maitred serve`) first"
        )


def open_runtime(settings: Settings, command: str) -> Runtime:
    """A runtime on the existing database and key (never creating either)."""
    require_database(settings)
    require_key(settings)
    announce(settings, command)
    return Runtime.build(settings)
