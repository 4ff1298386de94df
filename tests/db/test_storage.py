"""The storage layer on both databases: migrations match the models, group commit is durable
and isolates a failing job."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, make_url, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, PendingRollbackError
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.db import writer as writer_module
from maitred.db.batch import CHECKPOINT_EVERY, BatchConnection, LoopWriter
from maitred.db.engine import make_throwaway_engine
from maitred.db.errors import database_unavailable
from maitred.db.migrate import is_current
from maitred.errors import ServiceUnavailable
from maitred.runtime import Runtime
from maitred.schema import Base, InboundEvent


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


def _hold(runtime: Runtime) -> tuple[threading.Event, Future[Any]]:
    """A job that holds the writer, alone in its batch, until the event returned is set: what
    is queued meanwhile is written as one batch after it."""
    started, gate = threading.Event(), threading.Event()

    def hold(_session: Session) -> bool:
        started.set()
        return gate.wait(10)

    held = runtime.writer.submit(hold)
    assert started.wait(10)
    return gate, held


def _one_batch(runtime: Runtime, jobs: list[tuple[Callable[[Session], Any], bool]]) -> list[Any]:
    """Submit `jobs` (each with its `savepoint` choice) while the writer is held by another
    job, so they are written as one batch; their outcomes."""
    gate, held = _hold(runtime)
    futures: list[Future[Any]] = [
        runtime.writer.submit(job, savepoint=savepoint) for job, savepoint in jobs
    ]
    batches = runtime.writer.batches
    gate.set()
    held.result(timeout=10)
    outcomes = [f.exception(timeout=10) or f.result() for f in futures]
    assert runtime.writer.batches - batches == 2  # the held job's, then theirs (replays inside)
    return outcomes


def _keys(runtime: Runtime) -> set[str]:
    with runtime.db.read_sessions() as session:
        return set(session.scalars(select(InboundEvent.dedupe_key)))


def _writes_then_fails(key: str) -> Callable[[Session], None]:
    def job(session: Session) -> None:
        _insert_event(key)(session)
        raise ValueError(f"boom {key}")

    return job


async def test_a_failing_job_without_a_savepoint_leaves_nothing_and_spares_its_batch(
    runtime: Runtime,
) -> None:
    """decision 36: a job run bare that fails (an error of its own or of the database) gets
    its error and leaves no row, and the rest of its batch commits, bare or not."""
    await runtime.writer.run(_insert_event("a"))
    outcomes = _one_batch(
        runtime,
        [
            (_insert_event("b"), False),
            (_insert_event("a"), False),  # a duplicate key
            (_writes_then_fails("x"), False),
            (_insert_event("c"), True),
            (_insert_event("d"), False),
        ],
    )
    assert [outcomes[0], outcomes[3], outcomes[4]] == [1, 1, 1]
    assert isinstance(outcomes[1], IntegrityError)
    assert isinstance(outcomes[2], ValueError)
    assert _keys(runtime) == {"a", "b", "c", "d"}


async def test_jobs_without_a_savepoint_run_bare_and_a_failing_batch_is_bounded(
    runtime: Runtime,
) -> None:
    """A bare job runs outside any savepoint when its batch shares a transaction; however many
    bare jobs fail, a batch runs at most MAX_REPLAYS passes more."""
    seen: dict[str, list[bool]] = {"bare": [], "default": []}

    def noting(kind: str) -> Callable[[Session], int]:
        def job(session: Session) -> int:
            seen[kind].append(session.in_nested_transaction())
            return 1

        return job

    failing = [(_writes_then_fails(f"x{i}"), False) for i in range(5)]
    outcomes = _one_batch(runtime, [(noting("bare"), False), (noting("default"), True), *failing])
    assert outcomes[:2] == [1, 1]
    assert all(isinstance(outcome, ValueError) for outcome in outcomes[2:])
    assert seen["bare"][0] is False
    assert all(seen["default"])
    assert len(seen["bare"]) <= writer_module.MAX_REPLAYS + 1
    assert _keys(runtime) == set()


async def test_a_batch_awaited_from_a_loop_is_answered_with_one_call_to_it(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """decision 36: the jobs of a batch awaited on one loop are answered with one thread-safe
    call for all of them; a job whose waiter was cancelled is committed all the same."""
    loop = asyncio.get_running_loop()
    answered: list[int] = []
    original = loop.call_soon_threadsafe

    def counting(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if callback is writer_module._settle:
            answered.append(len(args[0]))
        return original(callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
    gate, held = _hold(runtime)
    waiting = [asyncio.ensure_future(runtime.writer.run(_insert_event(f"k{i}"))) for i in range(20)]
    gone = asyncio.ensure_future(runtime.writer.run(_insert_event("gone")))
    await asyncio.sleep(0)  # every job is queued behind the held one
    gone.cancel()
    gate.set()
    assert await asyncio.gather(*waiting) == [1] * 20
    assert await asyncio.wrap_future(held) is True
    assert answered == [21]
    assert "gone" in _keys(runtime)


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


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.InterfaceError("the connection is closed"),
    ],
    ids=["sqlite3", "psycopg-operational", "psycopg-interface"],
)
async def test_a_driver_error_saying_the_database_is_away_is_service_unavailable(
    runtime: Runtime, error: Exception
) -> None:
    """The hot paths' plain statements raise the driver's own classes: the writer answers them as
    it answers SQLAlchemy's OperationalError (503, the caller keeps what it was recording),
    and rolls the job back."""

    def job(session: Session) -> None:
        _insert_event("x")(session)
        raise error

    with pytest.raises(ServiceUnavailable):
        await runtime.writer.run(job)
    with runtime.db.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 0


def test_only_errors_of_the_database_being_away_count_as_unavailable() -> None:
    away = OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
    assert database_unavailable(away)
    assert database_unavailable(psycopg.OperationalError("gone"))
    assert not database_unavailable(IntegrityError("INSERT", {}, ValueError("duplicate")))
    assert not database_unavailable(psycopg.errors.UniqueViolation("duplicate"))
    assert not database_unavailable(ValueError("a bug in a job"))


async def test_the_writer_survives_a_failure_of_its_own_and_answers_the_callers(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unit level: if telling the error apart fails itself, the batch's callers get that error
    instead of waiting for ever on a dead thread, and the next job is written."""

    def broken(_exc: BaseException) -> bool:
        raise TypeError("a bug in the writer's own error handling")

    def failing(_session: Session) -> None:
        raise ValueError("a job's error")

    monkeypatch.setattr(writer_module, "database_unavailable", broken)
    with pytest.raises(TypeError, match="writer's own"):
        await asyncio.wait_for(runtime.writer.run(failing), timeout=10)
    monkeypatch.undo()
    assert await asyncio.wait_for(runtime.writer.run(_insert_event("after")), timeout=10) == 1


async def test_a_transaction_left_unusable_by_a_job_is_run_once_more_in_a_fresh_one(
    runtime: Runtime,
) -> None:
    """Unit level: a job that swallowed the error of a connection dying under it leaves the
    transaction unusable (PendingRollbackError at its next statement or the commit). The writer
    runs it once more in a fresh transaction, where the database answers for itself; a job
    that keeps failing that way gets the error after that one retry, not a loop."""
    runs: list[str] = []

    def unusable_once(session: Session) -> int:
        runs.append("once")
        if len(runs) == 1:
            raise PendingRollbackError("Can't reconnect until invalid transaction is rolled back")
        return _insert_event("retried")(session)

    def unusable_always(_session: Session) -> None:
        runs.append("always")
        raise PendingRollbackError("Can't reconnect until invalid transaction is rolled back")

    assert await runtime.writer.run(unusable_once) == 1
    assert runs == ["once", "once"]
    with pytest.raises(PendingRollbackError):
        await runtime.writer.run(unusable_always)
    assert runs.count("always") == 2


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's WAL: PostgreSQL has no such thing
async def test_the_loops_sqlite_batches_are_checkpointed_off_the_loop(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's own connection never checkpoints the WAL inside a commit (that fsync blocked
    the loop for milliseconds); every `CHECKPOINT_EVERY` batches a thread copies it instead."""
    threads: list[int] = []
    checkpoint = LoopWriter._checkpoint

    def spied(self: LoopWriter) -> None:
        threads.append(threading.get_ident())
        checkpoint(self)

    monkeypatch.setattr(LoopWriter, "_checkpoint", spied)

    async def insert(connection: BatchConnection) -> int:
        rows = await connection.fetch("PRAGMA wal_autocheckpoint")
        await connection.execute(
            "INSERT INTO traces (at, direction, method, url, duration_ms, outcome)"
            " VALUES (?, 'outbound', 'POST', 'http://x', 1.0, 'success')",
            (connection.timestamp(now()),),
        )
        return int(rows[0][0])

    settings = [await runtime.batches.run(insert) for _ in range(CHECKPOINT_EVERY)]
    assert set(settings) == {0}  # the loop's connection: no checkpoint in its commits
    for _ in range(500):  # the checkpoint thread's turn (at most ~5 s)
        if threads and runtime.batches._checkpointing is None:
            break
        await asyncio.sleep(0.01)
    assert threading.get_ident() not in threads
    with sqlite3.connect(make_url(runtime.settings.database_url).database or "") as raw:
        busy, frames, copied = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert (busy, copied) == (0, frames)  # everything the batches wrote was copied


_stored_event_count = text("SELECT count(*) FROM inbound_events")


@pytest.mark.parametrize("backend", ["sqlite"])  # one lock for the whole file: SQLite's alone
async def test_back_to_back_thread_writes_do_not_keep_a_loop_batch_waiting(
    runtime: Runtime,
) -> None:
    """A thread whose write transactions follow one another (the writer running follow-up
    rounds) took the SQLite lock again within microseconds of each commit, and the loop's
    batch, polling for it, waited through a run of them: a booking behind background work.
    The thread now lets the waiting batch have the next transaction."""
    stop = threading.Event()
    committed = 0

    def back_to_back() -> None:
        nonlocal committed
        while not stop.is_set():
            with runtime.db.write_sessions.begin() as session:
                session.execute(_stored_event_count)
                time.sleep(0.02)  # a job's work, the file locked
            committed += 1

    async def turn_taken(connection: BatchConnection) -> int:
        return committed  # the thread's transactions committed before this one began

    thread = threading.Thread(target=back_to_back)
    thread.start()
    try:
        while committed < 3:  # the thread is writing
            await asyncio.sleep(0.005)
        asked_at = committed
        given_at = await runtime.batches.run(turn_taken)
    finally:
        stop.set()
        thread.join()
    # The transaction under way when the batch asked, and at most one begun in the same
    # instant; without the turn, 15 to 28 of them in three runs.
    assert given_at - asked_at <= 2
