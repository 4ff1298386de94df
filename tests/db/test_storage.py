"""The storage layer on both databases: migrations match the models, group commit is durable
and isolates a failing job."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.db.engine import make_throwaway_engine
from maitred.db.migrate import is_current
from maitred.db.models import Base, InboundEvent
from maitred.runtime import Runtime


def test_migrations_produce_the_models_schema(database_url: str) -> None:
    engine = make_throwaway_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []
    assert is_current(database_url)


def _insert_event(key: str) -> Callable[[Session], int]:
    def job(session: Session) -> int:
        session.execute(
            insert(InboundEvent).values(
                partner_id="p", dedupe_key=key, kind="test", received_at=now()
            )
        )
        return 1

    return job


async def test_group_commit_isolates_a_failing_job(runtime: Runtime) -> None:
    await runtime.writer.run(_insert_event("a"))
    jobs = [runtime.writer.run(_insert_event(k)) for k in ("b", "a", "c")]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert results[0] == 1
    assert isinstance(results[1], IntegrityError)
    assert results[2] == 1
    with runtime.db.read_sessions() as session:
        keys = set(session.scalars(select(InboundEvent.dedupe_key)))
    assert keys == {"a", "b", "c"}


async def test_many_concurrent_jobs_share_transactions(runtime: Runtime) -> None:
    await asyncio.gather(*(runtime.writer.run(_insert_event(f"k{i}")) for i in range(300)))
    with runtime.db.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 300
    assert runtime.writer.batches < 300


async def test_a_job_error_reaches_its_caller_and_rolls_back(runtime: Runtime) -> None:
    def failing(session: Session) -> None:
        _insert_event("x")(session)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await runtime.writer.run(failing)
    with runtime.db.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 0
