"""Group commit: one thread runs write jobs, many jobs per transaction.

Each job is a function of a `Session` that flushes but never commits. The writer runs a batch of
waiting jobs in one transaction (each inside a SAVEPOINT when the batch has more than one, so a
failing job does not take the others down), commits once, and only then resolves each caller's
future. A caller that gets a result therefore knows its rows are durable, which is what lets a
route answer 2xx. On SQLite this is also the one writer the file allows at a time.

A job submitted with `savepoint=False` runs without its own SAVEPOINT (the SAVEPOINT, its
RELEASE and the ORM's nested transaction cost a POS update about a tenth of its writer time,
docs/decisions/0036). Should such a job fail, the batch is rolled back and run again with that
job inside a savepoint: every outcome a caller gets, success or error, is the one of the
transaction that committed, and a failing job still leaves nothing behind.

A job awaited from an event loop (`run`) is answered on that loop directly: the batch's
outcomes are handed to each loop with one thread-safe call per batch, not through a
`concurrent.futures.Future` and its asyncio wrapper per job (their locks, chained callbacks
and one thread-safe call each cost ~12 µs of CPU per job, docs/decisions/0036).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import PendingRollbackError
from sqlalchemy.orm import Session

from maitred.db.engine import Database
from maitred.db.errors import database_unavailable
from maitred.errors import ServiceUnavailable

T = TypeVar("T")
log = structlog.get_logger(__name__)

AFTER_COMMIT = "maitred.after_commit"
# A batch whose jobs without savepoints failed this many times runs them all in savepoints: a
# batch full of failing jobs costs at most this many passes more than it did.
MAX_REPLAYS = 2


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` on the writer thread once the job's transaction has committed."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


@dataclass
class _Job:
    fn: Callable[[Session], Any]
    future: Future[Any] | None  # a thread's (`submit`), or None for a loop's (`run`)
    callbacks: list[Callable[[], None]] = field(default_factory=list)
    savepoint: bool = True  # run inside a SAVEPOINT when the batch has other jobs
    loop: asyncio.AbstractEventLoop | None = None  # `run`'s: where `waiter` is answered
    waiter: asyncio.Future[Any] | None = None

    def resolve(self, result: Any, error: BaseException | None) -> None:
        """Answer a thread's caller now (a loop's is answered by `_answer`)."""
        if self.future is not None:
            _resolve(self.future, result, error)


class _Replay(Exception):
    """A job without a savepoint failed: the batch must run again with that job isolated."""

    def __init__(self, job: _Job) -> None:
        super().__init__()
        self.job = job


class Writer:
    """Runs write jobs on one thread with group commit."""

    def __init__(self, db: Database, *, max_batch: int = 256, name: str = "maitred-writer"):
        self._db = db
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._started = False
        self.batches = 0
        self.jobs = 0

    def start(self) -> None:
        """Start the writer thread."""
        if not self._started:
            self._started = True
            self._thread.start()

    def stop(self) -> None:
        """Finish queued jobs, then stop the thread."""
        if self._started:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._started = False

    def submit(self, fn: Callable[[Session], T], *, savepoint: bool = True) -> Future[T]:
        """Queue a job; the future resolves after its transaction commits. `savepoint=False`
        for a hot job that usually succeeds: it runs bare, and only a failure costs its batch
        a second pass (see the module's docstring)."""
        if not self._started:
            raise RuntimeError("writer is not running")
        future: Future[T] = Future()
        self._queue.put(_Job(fn, future, savepoint=savepoint))
        return future

    async def run(self, fn: Callable[[Session], T], *, savepoint: bool = True) -> T:
        """Run a job and wait for its commit (answered on this loop, see the docstring)."""
        if not self._started:
            raise RuntimeError("writer is not running")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, None, savepoint=savepoint, loop=loop, waiter=waiter))
        return await waiter

    def run_sync(self, fn: Callable[[Session], T]) -> T:
        """Run a job from a thread that is not the event loop."""
        return self.submit(fn).result()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                self._execute(batch)
            except Exception as exc:  # the one writer thread must not die: callers would wait
                log.exception("write batch crashed", jobs=len(batch))
                _answer([(waiting, None, exc) for waiting in batch])
            if stop:
                return

    def _execute(
        self, batch: list[_Job], *, again: bool = True, isolated: frozenset[int] = frozenset()
    ) -> None:
        """Run `batch` in one transaction; `isolated`: ids of jobs without a savepoint of their
        own that failed in an earlier pass of this batch, run in one now."""
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        shared = len(batch) > 1
        every = len(isolated) >= MAX_REPLAYS
        try:
            with self._db.write_sessions() as session, session.begin():
                for job in batch:
                    if shared and not (job.savepoint or every or id(job) in isolated):
                        outcomes.append(self._run_bare(session, job))
                    else:
                        outcomes.append(self._run_one(session, job, nested=shared))
        except _Replay as replay:
            self._execute(batch, again=again, isolated=isolated | {id(replay.job)})
            return
        except BaseException as exc:
            unavailable = database_unavailable(exc)
            if len(batch) > 1 and not unavailable:
                for job in batch:  # isolate the job that broke the batch
                    self._execute([job])
                return
            if isinstance(exc, PendingRollbackError) and again:
                # The job swallowed an error that left the transaction unusable (usually the
                # connection dying under it): run it once more in a fresh one, where the
                # database answers for itself (503 if it is still away) instead of the job
                # failing with an error its caller cannot tell from a bug.
                self._execute(batch, again=False)
                return
            if unavailable:
                log.warning("write batch failed", jobs=len(batch), error=type(exc).__name__)
                exc = ServiceUnavailable()
            _answer([(job, None, exc) for job in batch])
            return
        self.batches += 1
        self.jobs += len(batch)
        for job, _result, error in outcomes:
            if error is None:
                for callback in job.callbacks:
                    try:
                        callback()
                    except Exception:
                        log.exception("after-commit callback failed")
        _answer(outcomes)

    @staticmethod
    def _run_bare(session: Session, job: _Job) -> tuple[_Job, Any, BaseException | None]:
        """Run a job of a shared batch without a savepoint; a failure (its flush included)
        raises `_Replay`, which rolls the whole batch back to run it again."""
        session.info[AFTER_COMMIT] = []
        try:
            result = job.fn(session)
            session.flush()
        except Exception as exc:
            if database_unavailable(exc):
                raise
            raise _Replay(job) from exc
        job.callbacks = session.info.pop(AFTER_COMMIT, [])
        return job, result, None

    @staticmethod
    def _run_one(
        session: Session, job: _Job, *, nested: bool
    ) -> tuple[_Job, Any, BaseException | None]:
        session.info[AFTER_COMMIT] = []
        if not nested:
            result = job.fn(session)
            session.flush()
            job.callbacks = session.info.pop(AFTER_COMMIT, [])
            return job, result, None
        try:
            with session.begin_nested():
                result = job.fn(session)
        except Exception as exc:
            if database_unavailable(exc):
                raise
            return job, None, exc
        job.callbacks = session.info.pop(AFTER_COMMIT, [])
        return job, result, None


def _answer(outcomes: list[tuple[_Job, Any, BaseException | None]]) -> None:
    """Answer a batch's callers: threads' futures at once, each loop's waiters with one
    thread-safe call for all of them."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, Any]]] = {}
    for job, result, error in outcomes:
        if job.loop is not None and job.waiter is not None:
            by_loop.setdefault(job.loop, []).append((job.waiter, result, error))
        else:
            job.resolve(result, error)
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, answers)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            log.warning("write batch answered after its loop closed", jobs=len(answers))


def _settle(answers: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    """On the caller's loop: set each waiter that is still waited for (one cancelled, e.g. by
    a client that went away, has its job committed all the same)."""
    for waiter, result, error in answers:
        if waiter.done():
            continue
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(result)


def _resolve(future: Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
