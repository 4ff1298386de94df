"""A hub served by uvicorn on 127.0.0.1 (a real socket, real concurrent clients), in this process
or as a `maitred serve` subprocess, and a dump of every table to prove that a request stored
nothing."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, MetaData, select

from maitred.api.app import create_app
from maitred.api.serving import uvicorn_options
from maitred.config import Settings
from maitred.demo.stack import free_port
from tests.conftest import ADMIN_TOKEN
from tests.reliability.procs import wait_for, worker_env

# Written on their own by the edge and the worker, whatever the request: what a rejected
# request may leave behind is a trace of itself, nothing else.
BOOKKEEPING = frozenset({"traces", "alembic_version"})


@dataclass
class LiveHub:
    """A running hub: its base URL, the settings it runs on and its app (whose
    `state.runtime` holds the writer)."""

    base_url: str
    settings: Settings
    app: FastAPI


@contextmanager
def serve(settings: Settings) -> Iterator[LiveHub]:
    """Serve a fresh app (its own runtime, writer and caches) until the block ends; two blocks
    in a row on the same settings are a hub restart on the same database."""
    port = free_port()
    app = create_app(settings)
    options = uvicorn_options(settings) | {"log_level": "error"}
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ws="none", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"hub-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the hub did not start"
        assert time.monotonic() < deadline, "the hub did not start in time"
        time.sleep(0.02)
    try:
        yield LiveHub(base_url=f"http://127.0.0.1:{port}", settings=settings, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class ServedHub:
    """A `maitred serve` subprocess: its base URL, port and process."""

    base_url: str
    port: int
    process: subprocess.Popen[bytes]

    def memory(self, field: str = "VmHWM") -> int:
        """Bytes of the process's memory: its peak resident size (`VmHWM`) unless told."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field} for process {self.process.pid}")


def _healthy(port: int) -> bool:
    url = f"http://127.0.0.1:{port}/healthz"
    with suppress(OSError), urllib.request.urlopen(url, timeout=1) as answer:
        return bool(answer.status == 200)
    return False


@contextmanager
def serve_process(settings: Settings, log: Path, **env: str) -> Iterator[ServedHub]:
    """`maitred serve --no-worker` on `settings` (plus `env`) as an operator starts it: the same
    uvicorn options, the same HTTP parser. Stopped with SIGTERM, which flushes its traces."""
    port = free_port()
    command = [sys.executable, "-m", "maitred", "serve", "--no-worker", "--no-migrate"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env=worker_env(settings, MAITRED_ADMIN_TOKEN=ADMIN_TOKEN, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def up() -> bool:
            return _healthy(port) or process.poll() is not None

        wait_for(up, timeout=60, what="maitred serve to answer")
        assert process.poll() is None, log.read_text(errors="replace")
        yield ServedHub(base_url=f"http://127.0.0.1:{port}", port=port, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the bookkeeping ones, sorted, for before/after comparison."""
    metadata = MetaData()
    metadata.reflect(engine)
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            if name in BOOKKEEPING:
                continue
            rows = connection.execute(select(table)).all()
            tables[name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


def changed_rows(before: dict[str, list[tuple[Any, ...]]], after: dict[str, Any]) -> int:
    """How many rows differ between two dumps (added, removed or changed)."""
    changed = 0
    for name in set(before) | set(after):
        old, new = set(map(repr, before.get(name, []))), set(map(repr, after.get(name, [])))
        changed += len(old ^ new)
    return changed
