"""Concurrent webhooks share one writer job; one failing webhook does not fail the others."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from maitred.connectors.mozrest.rms_mapping import booking_state
from maitred.connectors.mozrest.wire import ReservationWebhook
from maitred.flows.booking_intake import write
from maitred.reservations.batch import Incoming
from maitred.reservations.service import Receipt
from maitred.runtime import Runtime
from tests.factories import RMS_KEY, SEED_VENUE, Hub, bearer, fixture


def test_bad_venue_in_a_concurrent_burst_fails_alone(hub: Hub) -> None:
    seated = fixture("rms_reservation_seated.json")

    def send(i: int) -> int:
        venue = "nowhere" if i % 5 == 0 else seated["venueId"]
        body = seated | {"bookingId": f"burst-{i}", "venueId": venue}
        return hub.client.post("/rms", json=body, headers=bearer(RMS_KEY)).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(send, range(40)))
    assert statuses.count(404) == 8
    assert statuses.count(200) == 32
    assert hub.count("reservations") == 32
    assert hub.count("inbound_events") == 32


def test_every_accepted_booking_of_a_burst_is_stored(hub: Hub) -> None:
    seated = fixture("rms_reservation_seated.json")

    def send(i: int) -> bool:
        body = seated | {"bookingId": f"many-{i}"}
        response = hub.client.post("/rms", json=body, headers=bearer(RMS_KEY))
        return response.status_code == 200 and response.json()["duplicate"] is False

    with ThreadPoolExecutor(max_workers=32) as pool:
        assert all(pool.map(send, range(100)))
    assert hub.count("reservations") == 100


def test_a_failing_webhook_in_a_batch_is_written_again_alone(hub: Hub) -> None:
    """One batch with an unknown venue and a booking sent twice: each good one stored once, the
    second sending of the same state a duplicate, the bad one refused."""
    runtime: Runtime = hub.client.app.state.runtime  # type: ignore[attr-defined]
    seated = fixture("rms_reservation_seated.json")

    def item(booking: str, venue: str = SEED_VENUE) -> Incoming:
        webhook = ReservationWebhook.model_validate(seated | {"bookingId": booking})
        return Incoming("rms-a", venue, booking_state(webhook), None)

    arguments = [item("first"), item("lost", venue="nowhere"), item("second"), item("first")]
    outcomes = hub.client.portal.call(write, runtime.batches, arguments)  # type: ignore[union-attr]

    assert [type(o).__name__ for o in outcomes] == ["Receipt", "NotFound", "Receipt", "Receipt"]
    assert [o.duplicate for o in outcomes if isinstance(o, Receipt)] == [False, False, True]
    assert hub.count("reservations") == 2
    assert hub.count("inbound_events") == 2


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's single writer lock
def test_a_batch_waits_for_a_locked_sqlite_file_on_the_loop_without_blocking_it(hub: Hub) -> None:
    """The writer thread holds SQLite's write lock for a second: a webhook is answered once the
    lock is free (stored, 200), and the loop answers other requests meanwhile."""
    runtime: Runtime = hub.client.app.state.runtime  # type: ignore[attr-defined]
    held = threading.Event()

    def hold(session: Session) -> None:
        session.execute(text("UPDATE venues SET timezone = timezone WHERE id = 'none'"))
        held.set()
        time.sleep(1.0)

    holding = runtime.writer.submit(hold)
    assert held.wait(5)
    seated = fixture("rms_reservation_seated.json")
    with ThreadPoolExecutor(max_workers=1) as pool:
        began = time.monotonic()
        webhook = pool.submit(
            hub.client.post, "/rms", json=seated | {"bookingId": "locked"}, headers=bearer(RMS_KEY)
        )
        time.sleep(0.2)
        assert not webhook.done()  # waiting for the lock
        health = hub.client.get("/healthz")
        assert health.status_code == 200
        assert time.monotonic() - began < 0.9  # the loop was free while the batch waited
        assert webhook.result(timeout=10).status_code == 200
    holding.result(timeout=5)
    assert hub.count("reservations") == 1
