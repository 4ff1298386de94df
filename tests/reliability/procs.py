"""Processes of the reliability suite: `maitred worker` subprocesses (started, killed -9,
restarted under the same worker id), a private PostgreSQL cluster that a test may stop and start,
and the soak knob (`MAITRED_SOAK_SECONDS`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from maitred.config import Settings
from maitred.demo.stack import free_port

SOAK_ENV = "MAITRED_SOAK_SECONDS"
READY = "dispatcher started"  # logged (info) once a worker has made its first claim


def soak_seconds() -> float | None:
    """How long a soakable scenario runs (`make soak` sets it); None in the fast suite."""
    value = os.environ.get(SOAK_ENV, "").strip()
    return float(value) if value else None


def sweep_seconds(settings: Settings) -> float:
    """The longest an idle worker waits between two claims (its poll interval, backed off)."""
    from maitred.deliveries.dispatcher import IDLE_BACKOFF

    return settings.poll_interval * IDLE_BACKOFF


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `maitred` subprocess running with `settings` (plus `extra`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAITRED_")}
    env.update(
        MAITRED_DATABASE_URL=settings.database_url,
        MAITRED_DATA_DIR=str(settings.data_dir),
        MAITRED_SECRET_KEY=settings.secret_key or "",
        MAITRED_ALLOW_LOOPBACK="true",
        MAITRED_POLL_INTERVAL=str(settings.poll_interval),
        MAITRED_LEASE_SECONDS=str(settings.lease_seconds),
        MAITRED_RETRY_SCHEDULE=json.dumps(settings.retry_schedule),
        MAITRED_RETRY_SCALE=str(settings.retry_scale),
        MAITRED_ENDPOINT_CONCURRENCY=str(settings.endpoint_concurrency),
        MAITRED_BREAKER_COOLDOWN=str(settings.breaker_cooldown),
        MAITRED_LOG_LEVEL="warning",
    )
    env.update(extra)
    return env


def start_worker(settings: Settings, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    """A `maitred worker` subprocess, its output appended to `log`."""
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "maitred", "worker"],
            env=worker_env(settings, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def exit_code(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """Wait for the process off the event loop (receivers must keep answering meanwhile)."""
    try:
        return await asyncio.to_thread(process.wait, timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return await asyncio.to_thread(process.wait)


async def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGTERM (a graceful stop) and the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return await exit_code(process, timeout)


async def kill9(process: subprocess.Popen[bytes]) -> int:
    """SIGKILL and the exit code (-9)."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    return await exit_code(process)


@dataclass
class Workers:
    """Named `maitred worker` subprocesses that a test kills and restarts; each process logs at
    info level to its own file in `logs`, which tells when its dispatcher is up."""

    settings: Settings
    logs: Path
    extra: dict[str, str] = field(default_factory=dict)
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: int = 0
    _log_of: dict[str, Path] = field(default_factory=dict)

    def start(self, worker_id: str, **extra: str) -> subprocess.Popen[bytes]:
        """Start a worker under `worker_id` (its `Settings.worker_id`)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{worker_id}.{len(list(self.logs.glob(worker_id + '.*')))}.log"
        process = start_worker(
            self.settings,
            log,
            MAITRED_WORKER_ID=worker_id,
            MAITRED_LOG_LEVEL="info",
            **{**self.extra, **extra},
        )
        self.running[worker_id] = process
        self._log_of[worker_id] = log
        return process

    def ready(self, worker_id: str) -> bool:
        """True once the worker's dispatcher has started (it claims from then on)."""
        log = self._log_of.get(worker_id)
        return log is not None and READY in log.read_text(errors="replace")

    async def until_ready(self, worker_id: str, timeout: float = 60) -> float:
        """Wait until the worker is ready; returns time.monotonic() then."""
        process = self.running[worker_id]
        deadline = time.monotonic() + timeout
        while not self.ready(worker_id):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker {worker_id} did not start: {self.output()}")
            await asyncio.sleep(0.02)
        return time.monotonic()

    async def kill(self, worker_id: str) -> int:
        """kill -9 the worker and wait for it to be gone."""
        code = await kill9(self.running.pop(worker_id))
        self.kills += 1
        return code

    async def stop_all(self) -> dict[str, int]:
        """Stop every worker gracefully; their exit codes by worker id."""
        codes = {name: await stop(process) for name, process in self.running.items()}
        self.running.clear()
        return codes

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *_exc: object) -> None:
        """Whatever still runs (a test that failed or was interrupted) is killed."""
        for process in self.running.values():
            process.kill()
            process.wait()
        self.running.clear()

    def output(self) -> str:
        """Every worker's log, for a failing assertion's message."""
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')}" for p in self.logs.iterdir()
        )


def _as_cluster_owner() -> list[str]:
    """initdb and postgres refuse to run as root: run them as `postgres` when we are root."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return on_path


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free loopback port, in its own directory: a test may
    stop (`-m immediate`, like a crash) and start it without touching the machine's server."""

    directory: Path
    port: int = 0

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        """Run a cluster command; its output goes to `ctl.log`, shown when it fails."""
        log = self.directory / "ctl.log"
        with log.open("ab") as out:
            done = subprocess.run(
                [*_as_cluster_owner(), *command], stdout=out, stderr=subprocess.STDOUT, timeout=120
            )
        if done.returncode != 0:
            server = self.directory / "server.log"
            logs = log.read_text() + (server.read_text() if server.exists() else "")
            raise RuntimeError(f"{Path(command[0]).name} failed:\n{logs[-4000:]}")

    def init(self) -> None:
        """Create the cluster (trust auth, no fsync: a stop here is a crash of the server, not
        of the machine, so the operating system keeps what was written)."""
        data = self.directory / "data"
        self._run(_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-N")
        self.port = free_port()

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.directory / "data"),
            "-l",
            str(self.directory / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (`immediate`: no shutdown checkpoint, clients cut off)."""
        self._run(_pg_bin("pg_ctl"), "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private cluster, stopped and deleted at the end of the block."""
    # Not under pytest's tmp_path: its root directory is private to root.
    directory = Path(tempfile.mkdtemp(prefix="maitred-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = PrivatePostgres(directory)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            cluster.stop()  # (unless already stopped)
        shutil.rmtree(directory, ignore_errors=True)


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `condition()` (blocking) until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
