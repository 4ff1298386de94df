"""Issue 5, point 4: PostgreSQL stopped (`-m immediate`) and started again while an RMS sends
bookings to a running hub (`maitred serve` and a `maitred worker`, the POS and RMS simulators).

The hub recovers by itself; every booking that got a 2xx is stored and followed (its POS order
opened, the RMS told). The cluster is a private throwaway one: the machine's server is never
touched."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from maitred.db.engine import make_throwaway_engine
from maitred.db.migrate import upgrade
from maitred.demo.stack import Stack
from tests.reliability.conftest import Record
from tests.reliability.procs import (
    READY,
    PrivatePostgres,
    private_postgres,
    soak_seconds,
    wait_for,
)

BOOKINGS = 240  # confirmed bookings, sent by POSTERS concurrent RMS connections
POSTERS = 6
SEATED = 12  # seated bookings, one per table of the simulators' floor: each opens a POS order
OUTAGE = 3.0  # seconds the database is down
LEASE = 5.0  # seconds: longer than the outage, so a send in flight at the stop is not resent
POS_LATENCY = 0.6  # seconds the POS takes to open an order: creates are in flight at the stop


@dataclass
class Rms:
    """The RMS side of the load: sends bookings until each is answered 2xx, as the contract
    asks of a partner (retry 5xx with backoff), and keeps every answer."""

    stack: Stack
    statuses: Counter[str] = field(default_factory=Counter)
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)  # bookingId -> body
    first_ack_after: float | None = None  # time.monotonic() of a 2xx after `mark`
    mark: float = float("inf")

    async def send(self, http: aiohttp.ClientSession, booking: dict[str, Any]) -> None:
        """POST /rms until 2xx."""
        headers = {"Authorization": f"Bearer {self.stack.keys['rms_key']}"}
        while True:
            try:
                async with http.post(self.stack.hub + "/rms", json=booking, headers=headers) as r:
                    await r.read()
                    self.statuses[str(r.status)] += 1
                    if 200 <= r.status < 300:
                        self.acknowledged[booking["bookingId"]] = booking
                        if time.monotonic() > self.mark and self.first_ack_after is None:
                            self.first_ack_after = time.monotonic()
                        return
            except (aiohttp.ClientError, TimeoutError) as error:
                self.statuses[type(error).__name__] += 1
            await asyncio.sleep(random.uniform(0.05, 0.2))

    def seated(self) -> set[str]:
        """The acknowledged bookings that seat guests (each opens a POS order)."""
        return {b for b, body in self.acknowledged.items() if body["status"] == "seated"}

    async def post_all(
        self, bookings: list[dict[str, Any]], *, after: str, down: asyncio.Event
    ) -> None:
        """Send `bookings` over POSTERS connections; those after booking `after` only once the
        database is `down`, so that a round always has bookings to send during the outage and
        after the restart (however fast the hub took the first ones)."""
        queue: asyncio.Queue[tuple[bool, dict[str, Any]]] = asyncio.Queue()
        gated = False
        for booking in bookings:
            queue.put_nowait((gated, booking))
            gated = gated or booking["bookingId"] == after
        timeout = aiohttp.ClientTimeout(total=30)

        async def poster() -> None:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                while not queue.empty():
                    wait_for_outage, booking = queue.get_nowait()
                    if wait_for_outage:
                        await down.wait()
                    await self.send(http, booking)

        await asyncio.gather(*(poster() for _ in range(POSTERS)))


def _bookings(stack: Stack, tag: str) -> list[dict[str, Any]]:
    """Confirmed bookings, with the seated ones (one per table) spread among them."""
    names = [f"{n:03d}" for n in range(1, SEATED + 1)]
    tables = {name: stack.rms_table(name) for name in names}
    contact = {"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com"}
    base = {"venueId": stack.rms_venue, "partySize": 2, "date": 1790000000, "contact": contact}
    bookings = [
        base | {"bookingId": f"{tag}-c{n}", "status": "confirmed", "tables": [tables["001"]]}
        for n in range(BOOKINGS)
    ]
    for k, name in enumerate(names):
        seated = base | {
            "bookingId": f"{tag}-s{name}",
            "status": "seated",
            "tables": [tables[name]],
        }
        bookings.insert((k + 1) * len(bookings) // (SEATED + 1), seated)
    return bookings


def _stored(engine: Engine) -> dict[str, tuple[str, bool]]:
    """bookingId -> (status, follow-up still pending), as the hub stored them."""
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT booking_id, status, followup_pending FROM reservations")
        )
        return {booking: (status, bool(pending)) for booking, status, pending in rows}


def _deliveries(engine: Engine) -> Counter[str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT state, count(*) FROM deliveries GROUP BY state"))
        return Counter({state: int(count) for state, count in rows})


def _start(stack: Stack) -> None:
    """The hub, the simulators and a second worker process, on a migrated database."""
    upgrade(stack.database_url)
    stack.env = {
        "MAITRED_SECRET_KEY": Fernet.generate_key().decode(),
        "MAITRED_LEASE_SECONDS": str(LEASE),
        "MAITRED_LOG_LEVEL": "info",
    }
    stack.start()
    stack.faults("pos", latency_ms=int(POS_LATENCY * 1000))
    stack._spawn("worker", [sys.executable, "-m", "maitred", "worker"])
    log = stack.workdir / "worker.log"
    wait_for(lambda: READY in log.read_text(), timeout=60, what="the worker to start")


async def _outage(pg: PrivatePostgres, rms: Rms, *, seated: str, down: asyncio.Event) -> float:
    """Once booking `seated` is acknowledged and its POS order is being opened (the POS answers
    slowly), stop the database for OUTAGE seconds."""
    while seated not in rms.acknowledged:
        await asyncio.sleep(0.02)
    await asyncio.sleep(POS_LATENCY / 2)
    await asyncio.to_thread(pg.stop, "immediate")
    down.set()
    await asyncio.sleep(OUTAGE)
    await asyncio.to_thread(pg.start)
    rms.mark = time.monotonic()
    return rms.mark


async def _round(stack: Stack, pg: PrivatePostgres, rms: Rms, tag: str) -> float:
    """Send a round of bookings with a database outage in the middle of it; returns how long
    after the restart the first booking was acknowledged."""
    bookings = _bookings(stack, tag)
    middle = [b["bookingId"] for b in bookings if b["status"] == "seated"][SEATED // 3]
    rms.mark, rms.first_ack_after = float("inf"), None
    down = asyncio.Event()
    outage = asyncio.create_task(_outage(pg, rms, seated=middle, down=down))
    await asyncio.wait_for(rms.post_all(bookings, after=middle, down=down), timeout=120)
    restarted = await outage
    assert rms.first_ack_after is not None
    return rms.first_ack_after - restarted


def _settled(stack: Stack, engine: Engine, rms: Rms) -> bool:
    """Every acknowledged booking followed, the RMS told of every order opened, queue empty."""
    stored = _stored(engine)
    followed = all(not stored.get(b, ("", True))[1] for b in rms.acknowledged)
    told = {e["body"].get("bookingId") for e in stack.rms_events()}
    queue = _deliveries(engine)
    idle = queue["pending"] == queue["inflight"] == 0
    return followed and told >= rms.seated() and idle


def _behind(stack: Stack, engine: Engine, rms: Rms) -> str:
    """What the hub has not caught up with yet, for the failure message."""
    stored = _stored(engine)
    missing = [b for b in rms.acknowledged if b not in stored]
    unfollowed = [b for b in rms.acknowledged if stored.get(b, ("", False))[1]]
    told = {e["body"].get("bookingId") for e in stack.rms_events()}
    untold = sorted(rms.seated() - told)
    alive = [p.poll() is None for p in stack.processes]
    return (
        f"{len(missing)} acknowledged not stored {missing[:5]}, {len(unfollowed)} not followed "
        f"{unfollowed[:5]}, RMS not told of {untold[:5]}, deliveries {dict(_deliveries(engine))}, "
        f"processes alive {alive}"
    )


@pytest.mark.slow
@pytest.mark.e2e
async def test_hub_recovers_from_a_database_restart_and_loses_no_acknowledged_booking(
    tmp_path: Path, figure: Record
) -> None:
    soak = soak_seconds()
    deadline = time.monotonic() + (soak or 0)
    recoveries: list[float] = []
    with private_postgres() as pg:
        stack = Stack(workdir=tmp_path, database_url=pg.url)
        engine = make_throwaway_engine(pg.url)
        rms = Rms(stack)
        try:
            _start(stack)
            while not recoveries or time.monotonic() < deadline:  # the soak repeats rounds
                recoveries.append(await _round(stack, pg, rms, f"r{len(recoveries)}"))
            settled = partial(_settled, stack, engine, rms)
            try:
                await asyncio.to_thread(wait_for, settled, timeout=90, what="the hub to catch up")
            except AssertionError as failed:
                raise AssertionError(f"{failed}: {_behind(stack, engine, rms)}") from None
            alive = [p.poll() is None for p in stack.processes]
            stored, queue = _stored(engine), _deliveries(engine)
            opened = [o for o in stack.pos_orders() if o["status"] == "open"]
        finally:
            engine.dispose()
            stack.stop()
    lost = [b for b, body in rms.acknowledged.items() if stored.get(b, ("",))[0] != body["status"]]
    figure(
        bookings_acknowledged=len(rms.acknowledged),
        outages=len(recoveries),
        outage_s=OUTAGE,
        answers=dict(rms.statuses),
        server_errors=rms.statuses["500"],
        lost=len(lost),
        pos_orders=len(opened),
        pos_creates_twice=len(opened) - len(rms.seated()),
        deliveries=dict(queue),
        max_recovery_s=round(max(recoveries), 2),
    )
    assert all(alive), f"a process died; logs in {tmp_path}"
    assert lost == []
    assert rms.statuses["500"] == 0  # a database outage is 503, never 500
    assert queue["failed"] == 0
    # One POS order per seated booking on its table. The POS never deduplicates, so a create sent
    # twice would open two: the answers to the creates in flight at the stop are recorded once
    # the database is back, within their lease, and nothing is sent again.
    tables = Counter(t for o in opened for t in o["tables"])
    assert tables == Counter({f"T{n}": len(recoveries) for n in range(1, SEATED + 1)})
