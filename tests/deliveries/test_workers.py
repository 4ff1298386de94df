"""`maitred worker` processes: a delivery survives kill -9 mid-flight and goes again with the
same webhook-id; two workers on PostgreSQL share 2,000 deliveries, none lost, none sent twice."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.db.migrate import upgrade
from maitred.deliveries import service
from maitred.deliveries.models import Delivery
from maitred.runtime import Runtime
from tests.conftest import PG_BASE, pg_schema_url
from tests.deliveries.helpers import (
    Received,
    add_partner,
    delivery,
    enqueue,
    receiving,
    runtime_with,
    state_of,
    wait_until,
)
from tests.reliability.procs import exit_code, start_worker, stop


@pytest.mark.e2e
async def test_delivery_survives_kill_9_mid_flight_with_the_same_webhook_id(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    release = asyncio.Event()

    async def hold_the_first(_r: Received, nth: int) -> web.StreamResponse:
        if nth == 1:
            await release.wait()  # the worker dies while we hold its request open
        return web.Response(text="ok")

    async with receiving(hold_the_first) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        log = tmp_path / "worker.log"
        # Both start now (imports are slow on a busy machine); whichever claims gets killed.
        workers = {
            name: start_worker(settings, log, MAITRED_LEASE_SECONDS="1", MAITRED_WORKER_ID=name)
            for name in ("a", "b")
        }
        try:
            delivery_id = await enqueue(runtime, partner, {"n": 1})
            await wait_until(lambda: len(receiver.received) == 1, what="first attempt")
            owner = delivery(runtime, delivery_id).lease_owner
            assert owner in workers
            victim = workers.pop(owner)
            victim.send_signal(signal.SIGKILL)
            assert await exit_code(victim) == -signal.SIGKILL
            assert state_of(runtime, delivery_id) == "inflight"
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
        finally:
            release.set()
            codes = [await stop(w) for w in workers.values()]
        assert codes == [0], log.read_text()
    ids = receiver.ids()
    assert len(ids) == 2
    assert ids[0] == ids[1]
    assert delivery(runtime, delivery_id).lease_owner is None


@pytest.mark.parametrize("backend", ["sqlite"])  # the crash hook itself; one backend is enough
@pytest.mark.e2e
async def test_a_crash_after_sending_redelivers_the_same_message(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    async with receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        delivery_id = await enqueue(runtime, partner, {"n": 1})
        log = tmp_path / "worker.log"
        crashing = start_worker(
            settings, log, MAITRED_LEASE_SECONDS="1", MAITRED_CRASH_AT="after_send"
        )
        assert await exit_code(crashing) == 137
        assert len(receiver.received) == 1
        worker = start_worker(settings, log, MAITRED_LEASE_SECONDS="1")
        try:
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered")
        finally:
            assert await stop(worker) == 0, log.read_text()
    assert receiver.ids() == [receiver.ids()[0]] * 2


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings on a fresh, migrated PostgreSQL schema (the multi-process test is PG-only)."""
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = make_throwaway_engine(PG_BASE)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_schema_url(schema)
    try:
        upgrade(url)
        yield Settings(
            database_url=url,
            data_dir=tmp_path,
            secret_key=Fernet.generate_key().decode(),
            retry_schedule=[1, 2, 4, 8],
            retry_scale=0.05,
            poll_interval=0.05,
            allow_loopback=True,
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _queue_many(
    partner_id: str, endpoint_id: int, url: str, count: int
) -> Callable[[Session], None]:
    def job(session: Session) -> None:
        for n in range(count):
            service.enqueue(
                session,
                endpoint_id=endpoint_id,
                partner_id=partner_id,
                kind="test.event",
                url=url,
                body={"n": n},
                ordering_key=f"key:{n % 400}",
            )

    return job


def _delivered(runtime: Runtime) -> int:
    with runtime.db.read_sessions() as session:
        query = select(func.count()).where(Delivery.state == "delivered")
        return int(session.scalar(query) or 0)


@pytest.mark.e2e
async def test_two_workers_on_postgresql_deliver_2000_none_lost_none_twice(
    pg_settings: Settings, tmp_path: Path
) -> None:
    total = 2000
    async with runtime_with(pg_settings) as runtime, receiving() as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        await runtime.writer.run(_queue_many(partner.id, partner.endpoint_id, receiver.url, total))
        log = tmp_path / "workers.log"
        extra = {"MAITRED_ENDPOINT_CONCURRENCY": "64"}
        workers = [
            start_worker(pg_settings, log, MAITRED_WORKER_ID=f"w{i}", **extra) for i in (1, 2)
        ]
        try:
            # Count on the receiver first: polling it costs no query on the receiver's loop.
            await wait_until(lambda: len(receiver.received) >= total, timeout=60, what="2000")
            await wait_until(lambda: _delivered(runtime) == total, timeout=30, what="recorded")
        finally:
            codes = [await stop(w) for w in workers]
        assert codes == [0, 0], log.read_text()
        with runtime.db.read_sessions() as session:
            rows = session.execute(
                text("SELECT worker_id, count(*) FROM delivery_attempts GROUP BY worker_id")
            )
            by_worker = {worker: count for worker, count in rows}
    counts = Counter(receiver.ids())
    assert len(counts) == total  # none lost
    assert max(counts.values()) == 1  # none sent twice
    assert set(by_worker) == {"w1", "w2"}  # both did real work
