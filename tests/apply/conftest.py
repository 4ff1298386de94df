"""A second empty database of the same backend, and the apply file's environment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.db.migrate import upgrade
from tests.apply.documents import ENV
from tests.conftest import PG_BASE, pg_schema_url


@pytest.fixture
def apply_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The variables the test document refers to, set in this process's environment."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return ENV


@pytest.fixture
def second_settings(settings: Settings, backend: str, tmp_path: Path) -> Iterator[Settings]:
    """`settings` pointed at a second migrated, empty database (another file or schema)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'second.db'}"
        upgrade(url)
        yield settings.model_copy(update={"database_url": url})
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = make_throwaway_engine(PG_BASE)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = pg_schema_url(schema)
        upgrade(url)
        yield settings.model_copy(update={"database_url": url})
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
