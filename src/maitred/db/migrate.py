"""Run Alembic migrations from code (`maitred db upgrade`, start-up, tests).

Alembic is imported by the functions that use it, never with this module: a server that found
its schema current, or had it migrated by a child process (`upgrade_apart`), does not keep the
migration tool in memory (docs/decisions/0037).
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import inspect

from maitred.db.engine import make_throwaway_engine, normalize_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger("maitred.db")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and `url`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`; says so in one line when it migrated, and
    nothing when the schema was already there."""
    from alembic import command

    before = current_revisions(url)
    if revision == "head" and before == heads(url):
        return
    command.upgrade(alembic_config(url), revision)
    log.info(
        "database migrated",
        from_revision=",".join(sorted(before)) or "empty",
        to_revision=",".join(sorted(current_revisions(url))),
    )


def upgrade_apart(url: str) -> None:
    """`upgrade` to the newest revision in a short-lived forked child, for a process that runs
    on afterwards (`maitred serve`): alembic, mako and the migration scripts stay out of its
    memory (7 MB of an idle server). The child's lines go to the same stderr; its exception,
    if any, is raised here. Where the platform cannot fork, in this process."""
    if "fork" not in multiprocessing.get_all_start_methods():
        upgrade(url)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as child:
        child.submit(upgrade, url).result()


def current_revisions(url: str) -> set[str]:
    """The revisions the database at `url` is at (empty for a database without our schema)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_throwaway_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return set()
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def heads(url: str) -> set[str]:
    """The newest revisions this maitred knows."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def is_current(url: str) -> bool:
    """True when the schema is at the newest revision."""
    current = current_revisions(url)
    return bool(current) and current == heads(url)
