"""Running a CLI command against the hub's database: open what exists (never create it), run,
and turn errors into messages and exit codes (refused input and setup errors 2, others 1)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from maitred import startup, terminal
from maitred.config import get_settings
from maitred.errors import BadRequest, MaitredError, SetupError
from maitred.runtime import Runtime

T = TypeVar("T")


def report(exc: MaitredError) -> None:
    """An error's message and each field it names, on stderr."""
    lines = [exc.message]
    for field, entries in exc.details.items():
        for messages in entries:
            lines.append(f"{field}: {'; '.join(m for ms in messages.values() for m in ms)}")
    terminal.error(*lines)


def _exit_for(exc: BaseException) -> typer.Exit:
    if isinstance(exc, SetupError):
        terminal.error(*exc.message.splitlines())
        return typer.Exit(2)
    if isinstance(exc, ValidationError):
        terminal.error(
            *(
                f"{'.'.join(str(p) for p in error['loc'])}: "
                + str(error["msg"]).removeprefix("Value error, ")
                for error in exc.errors()
            )
        )
        return typer.Exit(2)
    assert isinstance(exc, MaitredError)
    report(exc)
    return typer.Exit(2 if isinstance(exc, BadRequest) else 1)


def with_runtime(job: Callable[[Runtime], T]) -> T:
    """Run `job` on a runtime over the existing database and key."""
    try:
        runtime = startup.open_runtime(get_settings(), "cli")
    except SetupError as exc:
        raise _exit_for(exc) from exc
    try:
        return job(runtime)
    except (SetupError, ValidationError, MaitredError) as exc:
        raise _exit_for(exc) from exc
    finally:
        runtime.writer.stop()
        runtime.db.dispose()


def run_async(job: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run an async `job` (one that calls partners) on a runtime over the existing database."""
    try:
        runtime = startup.open_runtime(get_settings(), "cli")
    except SetupError as exc:
        raise _exit_for(exc) from exc

    async def main() -> T:
        try:
            return await job(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except (SetupError, ValidationError, MaitredError) as exc:
        raise _exit_for(exc) from exc


def read(runtime: Runtime, fn: Callable[[Session], T]) -> T:
    """Run a read-only query on a fresh session."""
    with runtime.db.read_sessions() as session:
        return fn(session)
