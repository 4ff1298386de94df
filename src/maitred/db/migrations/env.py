"""Alembic environment: runs migrations online against the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from maitred.db.engine import make_throwaway_engine
from maitred.schema import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    """Apply migrations on one connection."""
    engine = make_throwaway_engine(config.get_main_option("sqlalchemy.url") or "")
    assert isinstance(engine.pool, pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
