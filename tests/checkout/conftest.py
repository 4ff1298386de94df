"""A channel-order stack per test, on SQLite or PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from maitred.db.engine import make_throwaway_engine
from tests.checkout.stack import ChannelStack
from tests.conftest import PG_BASE, pg_schema_url

pytestmark = pytest.mark.e2e


def _database(backend: str, workdir: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'maitred.db'}", None
    schema = "co_" + uuid.uuid4().hex[:10]
    engine = make_throwaway_engine(PG_BASE)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return pg_schema_url(schema), schema


def _drop(schema: str | None) -> None:
    if schema is None:
        return
    engine = make_throwaway_engine(PG_BASE)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


async def open_stack(
    backend: str, workdir: Path, hubs: int = 1, *, cross: bool = False, **env: str
) -> AsyncIterator[ChannelStack]:
    """A started stack, stopped and dropped afterwards."""
    url, schema = _database(backend, workdir)
    running = ChannelStack(workdir=workdir, database_url=url)
    try:
        await running.start(hubs, cross=cross, **env)
        yield running
    finally:
        await running.stop()
        _drop(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ChannelStack]:
    """One hub on each database, both simulators."""
    async for running in open_stack(request.param, tmp_path):
        yield running
