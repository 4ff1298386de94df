"""Run Alembic migrations from code (`maitred db upgrade`, start-up, tests)."""

from __future__ import annotations

from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from maitred.db.engine import make_throwaway_engine, normalize_url

MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger("maitred.db")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`; says so in one line when it migrated, and
    nothing when the schema was already there."""
    before = current_revisions(url)
    if revision == "head" and before == heads(url):
        return
    command.upgrade(alembic_config(url), revision)
    log.info(
        "database migrated",
        from_revision=",".join(sorted(before)) or "empty",
        to_revision=",".join(sorted(current_revisions(url))),
    )


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
