"""P3: outbound deliveries from one `maitred worker` process to a receiver that answers at once,
against the same aiohttp client posting the same bodies in a bare loop.

N deliveries (one partner endpoint, each its own ordering key, signed, with a Bearer token) are
written to a fresh SQLite database before the worker starts, as bulk Core inserts of the values
`deliveries.service.enqueue` writes. The worker's rate is N over the time from the receiver's
first request (worker start-up excluded) until the database has nothing pending or in flight,
so recording every attempt is inside the timed window. The baseline is `transport.make_session`
posting the same bodies with static headers of the same shape, at the concurrency the worker
can use on one endpoint (min of worker and per-endpoint concurrency), run before and after the
worker (the machine is shared; the ratio is to their mean). Helpers here are shared with P4.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    FIXTURES,
    Row,
    cpu_seconds,
    free_port,
    hub_env,
    process,
    rss_mb,
    serving,
)

TEMPLATE = json.loads((FIXTURES / "rms_pos_order_event.json").read_text())
PARTNER = "bench-rms"
KIND = "bench.pos_order"  # no outcome hook is registered for it, like rms.pos_order
TARGET_RATIO = 0.7  # issue 13: a minimal sender on this machine reached 0.68-0.78x
POLL_SECONDS = 0.05
STARTUP_ALLOWANCE = 10.0  # seconds a worker may take to send its first request
INSERT_CHUNK = 5_000


@dataclass(frozen=True)
class Hub:
    """A migrated database with one partner and its webhook endpoint pointing at `url`."""

    database_url: str
    workdir: Path
    env: dict[str, str]
    endpoint_id: int
    url: str


def seed(workdir: Path, url: str) -> Hub:
    """Migrate a fresh SQLite file and add a partner (token and signing secret encrypted with
    the worker's key, as in production) whose webhook endpoint is `url`."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from maitred.clock import now
    from maitred.db.engine import make_throwaway_engine
    from maitred.db.migrate import upgrade
    from maitred.deliveries.service import ensure_endpoint
    from maitred.partners.models import Partner
    from maitred.security import SecretBox, new_signing_secret, new_token

    database_url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(database_url)
    env = hub_env(database_url, workdir)
    box = SecretBox(env["MAITRED_SECRET_KEY"])
    engine = make_throwaway_engine(database_url)
    at = now()
    with Session(engine) as session, session.begin():
        session.execute(
            insert(Partner).values(
                id=PARTNER, kind="rms", name=PARTNER, webhook_url=url,
                token_encrypted=box.encrypt(new_token()),
                signing_secret_encrypted=box.encrypt(new_signing_secret()),
                created_at=at, updated_at=at,
            )
        )  # fmt: skip
        endpoint_id = ensure_endpoint(session, partner_id=PARTNER, name="webhook", url=url)
    engine.dispose()
    return Hub(database_url, workdir, env, endpoint_id, url)


def body(key: str, seq: int, event_type: str) -> str:
    """A full-state pos_order-shaped body carrying the receiver's `key` and `seq`."""
    document = TEMPLATE | {"type": event_type, "checkNumber": key, "updatedAt": seq}
    return json.dumps(document | {"key": key, "seq": seq}, separators=(",", ":"))


def delivery_row(
    hub: Hub, payload: str, at: datetime, *, ordering_key: str, coalesce_key: str | None = None
) -> dict[str, Any]:
    """The column values `deliveries.service.enqueue` writes for one delivery."""
    from maitred.deliveries.models import PENDING
    from maitred.deliveries.service import new_message_id

    return {
        "message_id": new_message_id(), "endpoint_id": hub.endpoint_id, "partner_id": PARTNER,
        "venue_id": None, "kind": KIND, "method": "POST", "url": hub.url, "body": payload,
        "ordering_key": ordering_key, "coalesce_key": coalesce_key, "correlation_id": None,
        "state": PENDING, "attempts": 0, "next_attempt_at": at, "created_at": at, "updated_at": at,
    }  # fmt: skip


def insert_deliveries(hub: Hub, rows: Iterable[dict[str, Any]]) -> int:
    """Bulk-insert delivery rows in id order, a chunk per executemany; returns how many."""
    from sqlalchemy import insert

    from maitred.db.engine import make_throwaway_engine
    from maitred.deliveries.models import Delivery

    engine = make_throwaway_engine(hub.database_url)
    total = 0
    try:
        with engine.begin() as connection:
            for chunk in _chunks(rows, INSERT_CHUNK):
                connection.execute(insert(Delivery.__table__), chunk)  # type: ignore[arg-type]
                total += len(chunk)
    finally:
        engine.dispose()
    return total


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextmanager
def receiver(port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`bench.receiver` on `port` for the length of the block."""
    command = [sys.executable, "-m", "bench.receiver", str(port)]
    with serving(command, dict(os.environ), f"http://127.0.0.1:{port}/healthz", log) as process:
        yield process


def receiver_counts(port: int) -> dict[str, Any]:
    """The receiver's counts (`GET /counts`)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/counts", timeout=5) as answer:
        counts: dict[str, Any] = json.loads(answer.read())
    return counts


@contextmanager
def worker(hub: Hub, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """One `python -m maitred worker` process (SIGTERM at the end, SIGKILL after 15 s)."""
    with process([sys.executable, "-m", "maitred", "worker"], hub.env, log) as started:
        yield started


def state_counts(hub: Hub) -> dict[str, int]:
    """Deliveries per state."""
    from sqlalchemy import func, select

    from maitred.db.engine import make_throwaway_engine
    from maitred.deliveries.models import Delivery

    engine = make_throwaway_engine(hub.database_url)
    try:
        with engine.connect() as connection:
            query = select(Delivery.state, func.count()).group_by(Delivery.state)
            return {state: int(n) for state, n in connection.execute(query)}
    finally:
        engine.dispose()


def wait_first_request(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll the receiver until it has had a request (the worker is up), at most `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if receiver_counts(port)["received"]:
            return
        time.sleep(POLL_SECONDS)


def wait_settled(hub: Hub, process: subprocess.Popen[bytes], timeout: float) -> float | None:
    """Poll until no delivery is pending or in flight; the monotonic time it was first seen so,
    or None when `timeout` passed or the worker exited first."""
    from sqlalchemy import func, select

    from maitred.db.engine import make_throwaway_engine
    from maitred.deliveries.models import INFLIGHT, PENDING, Delivery

    query = select(func.count()).where(Delivery.state.in_((PENDING, INFLIGHT)))
    engine = make_throwaway_engine(hub.database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            with engine.connect() as connection:
                if not connection.scalar(query):
                    return time.monotonic()
            time.sleep(POLL_SECONDS)
    finally:
        engine.dispose()
    return None


def attempt_check(hub: Hub) -> dict[str, int]:
    """Attempt rows in all, and delivered deliveries that have none (must be 0)."""
    from sqlalchemy import exists, func, select

    from maitred.db.engine import make_throwaway_engine
    from maitred.deliveries.models import DELIVERED, Delivery, DeliveryAttempt

    unrecorded = select(func.count()).where(
        Delivery.state == DELIVERED,
        ~exists().where(DeliveryAttempt.delivery_id == Delivery.id),
    )
    engine = make_throwaway_engine(hub.database_url)
    try:
        with engine.connect() as connection:
            attempts = connection.scalar(select(func.count()).select_from(DeliveryAttempt))
            missing = connection.scalar(unrecorded)
    finally:
        engine.dispose()
    return {"attempt_rows": int(attempts or 0), "delivered_without_attempt": int(missing or 0)}


def drain(hub: Hub, port: int, timeout: float) -> dict[str, Any]:
    """Start a worker against the seeded database and the running receiver on `port`; from its
    first request, time it until nothing is pending (at most `timeout`). Collects the states
    when the clock stopped (before the worker's graceful stop finishes its sends), worker CPU
    and peak RSS, then the final states, attempt rows and the receiver's counts."""
    with worker(hub, hub.workdir / "worker.log") as process:
        spawned = time.monotonic()
        wait_first_request(port, process, STARTUP_ALLOWANCE)
        done_at = wait_settled(hub, process, timeout)
        end = done_at if done_at is not None else time.monotonic()
        states_at_end = state_counts(hub)
        alive = process.poll() is None
        cpu = cpu_seconds(process.pid) if alive else float("nan")
        peak = rss_mb(process.pid, peak=True) if alive else float("nan")
    counts = receiver_counts(port)
    first = counts["first_at"] if counts["first_at"] is not None else end
    return {
        "settled": done_at is not None,
        "startup_s": round(first - spawned, 3),
        "drain_s": round(max(end - first, 1e-6), 3),
        "worker_cpu_s": round(cpu, 2),
        "peak_rss_mb": round(peak, 1),
        "states_at_end": states_at_end,
        "states_after_stop": state_counts(hub),
        "receiver": counts,
        **attempt_check(hub),
    }


@dataclass(frozen=True)
class Plan:
    """How many deliveries and how long each phase may take."""

    deliveries: int = 20_000
    timeout: float = 40.0  # of the worker's run; the whole scenario stays near a minute


def concurrency() -> int:
    """Sends the worker can have in flight to one endpoint (with the default settings)."""
    from maitred.config import Settings

    settings = Settings()
    return min(settings.worker_concurrency, settings.endpoint_concurrency)


async def _blast(url: str, bodies: list[bytes], width: int, budget: float) -> dict[str, Any]:
    """POST every body with `width` concurrent loops on the hub's own client session."""
    from maitred.config import Settings
    from maitred.transport import make_session

    headers = {
        "Content-Type": "application/json", "webhook-id": "msg_" + "0" * 32,
        "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1," + "A" * 44,
        "Authorization": "Bearer " + "t" * 43,
    }  # fmt: skip  # the shape the worker sends, without the signing work
    pending = iter(bodies)
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + budget

    async def loop(session: aiohttp.ClientSession) -> None:
        for payload in pending:
            if time.monotonic() > deadline:
                return
            async with session.post(url, data=payload, headers=headers) as answer:
                await answer.read()
                statuses[answer.status] = statuses.get(answer.status, 0) + 1

    async with make_session(Settings(allow_loopback=True)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(loop(session) for _ in range(width)))
        elapsed = time.perf_counter() - started
    sent = sum(statuses.values())
    return {"sent": sent, "seconds": round(elapsed, 3), "rate": round(sent / elapsed, 1),
            "statuses": {str(k): v for k, v in statuses.items()}}  # fmt: skip


def run_baseline(plan: Plan, workdir: Path, tag: str) -> dict[str, Any]:
    """The bare client loop against a fresh receiver; adds this process's CPU per request."""
    port = free_port()
    bodies = [body(f"{tag}-{i}", 0, "create").encode() for i in range(plan.deliveries)]
    with receiver(port, workdir / f"receiver-{tag}.log"):
        cpu_before = time.process_time()
        result = asyncio.run(
            _blast(f"http://127.0.0.1:{port}/hook", bodies, concurrency(), plan.timeout)
        )
        cpu = time.process_time() - cpu_before
        result["receiver"] = receiver_counts(port)
    result["client_cpu_us_per_request"] = round(cpu / max(result["sent"], 1) * 1e6, 1)
    return result


def run_hub(plan: Plan, workdir: Path) -> dict[str, Any]:
    """N deliveries queued, then one worker process delivers them to a fresh receiver."""
    port = free_port()
    hub = seed(workdir, f"http://127.0.0.1:{port}/hook")
    at = _now()
    rows = (
        delivery_row(hub, body(f"booking-{i}", 0, "create"), at, ordering_key=f"booking-{i}")
        for i in range(plan.deliveries)
    )
    queued = insert_deliveries(hub, rows)
    with receiver(port, workdir / "receiver-hub.log"):
        result = drain(hub, port, plan.timeout)
    result["queued"] = queued
    delivered = result["states_at_end"].get("delivered", 0)
    result["rate"] = round(delivered / result["drain_s"], 1)
    result["worker_cpu_us_per_delivery"] = round(result["worker_cpu_s"] / max(delivered, 1) * 1e6)
    result["verified"] = (
        result["settled"]
        and result["states_after_stop"] == {"delivered": queued}
        and result["delivered_without_attempt"] == 0
        and result["attempt_rows"] == queued
    )
    return result


def _now() -> datetime:
    from maitred.clock import now

    return now()


def measure(plan: Plan) -> dict[str, Any]:
    """Baseline, hub, baseline again; the hub's ratio is to the baselines' mean."""
    with tempfile.TemporaryDirectory(prefix="maitred-p3-") as tmp:
        workdir = Path(tmp)
        before = run_baseline(plan, workdir, "base1")
        hub = run_hub(plan, workdir)
        after = run_baseline(plan, workdir, "base2")
    baseline = (before["rate"] + after["rate"]) / 2
    return {
        "plan": plan.__dict__,
        "concurrency": concurrency(),
        "hub": hub,
        "baseline_rate": round(baseline, 1),
        "baseline_runs": [before, after],
        "ratio": round(hub["rate"] / baseline, 3) if baseline else 0.0,
    }


def run(quick: bool = False) -> list[Row]:
    """P3: the worker's delivery rate against the bare client, every attempt recorded."""
    plan = Plan(deliveries=3_000, timeout=6.0) if quick else Plan()
    result = measure(plan)
    hub, ratio = result["hub"], result["ratio"]
    return [
        Row(
            id="P3",
            scenario=f"outbound deliveries, 1 endpoint, {result['concurrency']} in flight",
            figure=hub["rate"],
            unit="deliv/s",
            target=f"≥ {TARGET_RATIO}x bare client, all recorded",
            passed=ratio >= TARGET_RATIO and hub["verified"],
            share=ratio / TARGET_RATIO,
            baseline=result["baseline_rate"],
            ratio=ratio,
            details=result,
        )
    ]
