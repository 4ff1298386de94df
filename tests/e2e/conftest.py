"""One running system per database backend, shared by the tests of a module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from maitred.db.engine import make_throwaway_engine
from maitred.demo.stack import Stack
from tests.conftest import PG_BASE, pg_schema_url

pytestmark = pytest.mark.e2e


@contextmanager
def running_stack(
    backend: str, tmp_path_factory: pytest.TempPathFactory, **options: Any
) -> Iterator[Stack]:
    """maitred + POS simulator + RMS simulator on `backend`, running, configured, tables
    mapped; `options` are `Stack` fields (e.g. the RMS's venue id and floor)."""
    workdir = tmp_path_factory.mktemp("e2e")
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'maitred.db'}"
    else:
        schema = "e2e_" + uuid.uuid4().hex[:10]
        engine = make_throwaway_engine(PG_BASE)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = pg_schema_url(schema)
    running = Stack(workdir=Path(workdir), database_url=url, **options)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        if schema is not None:
            engine = make_throwaway_engine(PG_BASE)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The system with the simulators' default ids."""
    with running_stack(request.param, tmp_path_factory) as running:
        yield running
