"""Shared fixtures. Every test that takes `database_url` runs twice: on a SQLite file and on
PostgreSQL (a fresh schema in the `test` database, migrated by Alembic)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from maitred import boot
from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.db.migrate import upgrade
from maitred.runtime import Runtime

PG_BASE = os.environ.get(
    "MAITRED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ADMIN_TOKEN = "admin-test-token-0123456789"


def pg_schema_url(schema: str) -> str:
    """A URL whose connections use `schema` (psycopg passes `options` to the server)."""
    sep = "&" if "?" in PG_BASE else "?"
    return f"{PG_BASE}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(autouse=True, scope="session")
def installed() -> None:
    """What every maitred process installs at start (contracts, outcome hooks)."""
    boot.install()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database this run of the test uses."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of the current backend."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'maitred.db'}"
        upgrade(url)
        yield url
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = make_throwaway_engine(PG_BASE)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_schema_url(schema)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a hub on the test database, with retries compressed for tests."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key=Fernet.generate_key().decode(),
        admin_token=ADMIN_TOKEN,
        retry_schedule=[1, 2, 4, 8],
        retry_scale=0.05,
        slow_retry_floor=60,
        lease_seconds=5,
        poll_interval=0.05,
        breaker_cooldown=1,
        allow_loopback=True,
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime (engines, writer, secret box) on the test database."""
    rt = Runtime.build(settings)
    try:
        yield rt
    finally:
        await rt.close()
