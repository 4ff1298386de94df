"""What one request may carry, and how long it may hold the writer.

The attack: one POS order with 20,000 checks (under the body limit) held the hub's one writer
for 14 s and queued 20,000 deliveries, and a booking from another partner waited behind it. Now
checks, items, tables and pre-ordered items per request are bounded (a 400 naming the list past
the limit, docs/decisions/0011), and the largest request that is still legal — an order or a
booking at every limit, and the booking's follow-up — leaves another partner's booking waiting
no more than a few times its own latency, measured in the same test.
"""

from __future__ import annotations

import gc
import json
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.config import Settings
from maitred.connectors.mozrest.types import (
    MAX_CHECKS,
    MAX_CLAIMED_CHECKS,
    MAX_ITEMS,
    MAX_ORDER_ITEMS,
    MAX_PREORDER_ITEMS,
    MAX_TABLES,
)
from maitred.db.engine import make_throwaway_engine
from maitred.orders import followups
from maitred.runtime import Runtime
from maitred.security import SecretBox
from maitred.tables.models import TableMapping
from tests.factories import (
    OTHER_RMS_KEY,
    OTHER_VENUE,
    POS_KEY,
    RMS_KEY,
    Hub,
    bearer,
    fixture,
    open_hub,
    seed_world,
)
from tests.reliability.conftest import Record
from tests.reliability.live import LiveHub, serve

ORDER = "/v1/pos/pos-venue-1/order"
# A booking from another partner waits at most this many times its own median latency behind
# the largest legal request (a stalled writer made it thousands of times slower). The hub, its
# clients and the test share one process and two cores: a few writer jobs and GIL turns fit.
WAIT_RATIO = 50
ROUNDS = 3


def _order(checks: int, items: int = 0, tables: int = 1) -> dict[str, Any]:
    lines = [{"id": i, "name": "Dish", "price": 12.5, "quantity": 1} for i in range(items)]
    return {
        "id": f"big-{checks}-{items}-{tables}",
        "tables": [f"T{i}" for i in range(tables)],
        "checks": [{"checkNumber": f"{checks}-{i}", "items": lines} for i in range(checks)],
    }


def _booking(tables: int = 1, items: int = 0, claims: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = fixture("rms_reservation_seated.json")
    body["bookingId"] = f"big-{tables}-{items}-{claims}"
    body["tables"] = [f"R{i}" for i in range(tables)]
    if items:
        body["items"] = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(items)]
    if claims:
        body["checks"] = [f"claimed-{i}" for i in range(claims)]
    return body


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    with open_hub(settings) as running:
        yield running


OVER_THE_LIMITS = [
    (ORDER, POS_KEY, _order(MAX_CHECKS + 1), "checks"),
    (ORDER, POS_KEY, _order(1, items=MAX_ITEMS + 1), "checks[0].items"),
    (ORDER, POS_KEY, _order(MAX_ORDER_ITEMS // MAX_ITEMS + 1, items=MAX_ITEMS), "checks"),
    (ORDER, POS_KEY, _order(1, tables=MAX_TABLES + 1), "tables"),
    ("/rms", RMS_KEY, _booking(tables=MAX_TABLES + 1), "tables"),
    ("/rms", RMS_KEY, _booking(items=MAX_PREORDER_ITEMS + 1), "items"),
    ("/rms", RMS_KEY, _booking(claims=MAX_CLAIMED_CHECKS + 1), "checks"),
]


def test_a_request_past_the_per_request_limits_is_a_400_naming_the_list(hub: Hub) -> None:
    for url, key, body, field in OVER_THE_LIMITS:
        answer = hub.client.post(url, json=body, headers=bearer(key))
        assert answer.status_code == 400, (field, answer.text[:200])
        assert field in answer.json()["error"]["details"], answer.text[:300]
    assert (hub.count("pos_orders"), hub.count("reservations")) == (0, 0)

    at_the_limits = [
        (ORDER, POS_KEY, _order(MAX_CHECKS, MAX_ORDER_ITEMS // MAX_CHECKS, MAX_TABLES)),
        (ORDER, POS_KEY, _order(1, items=MAX_ITEMS)),
        ("/rms", RMS_KEY, _booking(MAX_TABLES, MAX_PREORDER_ITEMS, MAX_CLAIMED_CHECKS)),
    ]
    for url, key, body in at_the_limits:
        answer = hub.client.post(url, json=body, headers=bearer(key))
        assert answer.status_code == 200, answer.text[:300]


def _world(settings: Settings) -> None:
    """The seed world; the RMS and POS of venue v1 listening, and R0…R49 mapped to T0…T49."""
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
        session.execute(
            text("UPDATE partners SET webhook_url = 'http://127.0.0.1:9/hook' WHERE id = 'rms-a'")
        )
        session.execute(
            text("UPDATE partners SET base_url = 'http://127.0.0.1:9' WHERE id='pos-1'")
        )
        for i in range(MAX_TABLES):
            session.add(
                TableMapping(
                    venue_id="v1",
                    rms_table_id=f"R{i}",
                    pos_table_id=f"T{i}",
                    state="confirmed",
                    confidence=1.0,
                    reason="test",
                    stale=False,
                    updated_at=now(),
                )
            )
    engine.dispose()


class SmallBookings:
    """Another partner's bookings, sent back to back on a thread; each one's latency."""

    def __init__(self, hub: LiveHub) -> None:
        self.url = hub.base_url + "/rms"
        self.sent = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def one(self, http: requests.Session) -> float:
        body = fixture("rms_reservation_seated.json")
        body |= {"bookingId": f"small-{self.sent}", "venueId": OTHER_VENUE}
        self.sent += 1
        started = time.perf_counter()
        answer = http.post(self.url, data=json.dumps(body), headers=_json(OTHER_RMS_KEY))
        took = time.perf_counter() - started
        if answer.status_code != 200:
            self.errors.append(f"{answer.status_code} {answer.text[:200]}")
        return took

    def __enter__(self) -> SmallBookings:
        self.latencies, self._stop = [], threading.Event()

        def loop() -> None:
            with requests.Session() as http:
                while not self._stop.is_set():
                    self.latencies.append(self.one(http))
                    time.sleep(0.005)

        self._thread = threading.Thread(target=loop, name="small-bookings")
        self._thread.start()
        time.sleep(0.1)
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(0.1)  # one more booking after the large request
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=120)


def _json(key: str) -> dict[str, str]:
    return bearer(key) | {"Content-Type": "application/json"}


def _largest_legal_order(limit: int) -> dict[str, Any]:
    """An order at the check, item and table limits (within the body limit)."""
    order = _order(MAX_CHECKS, MAX_ORDER_ITEMS // MAX_CHECKS, MAX_TABLES)
    assert len(json.dumps(order)) <= limit
    return order


def _warm_up(http: requests.Session, hub: LiveHub, runtime: Runtime) -> None:
    """Each path once with a small request, as in a hub that has been serving: the first use of
    a statement compiles it (tens of ms that a long-running hub paid long ago)."""
    order = _order(2, items=2, tables=2) | {"id": "warm-up"}
    answer = http.post(hub.base_url + ORDER, data=json.dumps(order), headers=_json(POS_KEY))
    assert answer.status_code == 200, answer.text
    booking = _booking(2, 2, 2) | {"bookingId": "warm-up"}
    answer = http.post(hub.base_url + "/rms", data=json.dumps(booking), headers=_json(RMS_KEY))
    assert answer.status_code == 200, answer.text
    _follow_up(runtime, "warm-up")


def _follow_up(runtime: Runtime, booking_id: str) -> None:
    """Run follow-up rounds on the hub's writer until the booking has been followed."""
    for _ in range(1000):
        runtime.writer.run_sync(followups.apply_pending)
        with runtime.db.read_sessions() as session:
            pending = session.scalar(
                text("SELECT followup_pending FROM reservations WHERE booking_id = :id"),
                {"id": booking_id},
            )
        if not pending:
            return
    raise AssertionError("the booking was never followed")


@pytest.mark.slow
def test_one_partners_largest_request_does_not_stall_another_partners_booking(
    settings: Settings, figure: Record
) -> None:
    _world(settings)
    # The hub shares this process with every test before it: their leftover objects would make
    # a collection pause (tens of ms) land in whichever phase allocates most, a cost a hub's own
    # heap does not have. Frozen, the collector leaves them out.
    gc.collect()
    gc.freeze()
    try:
        # A stall shows in every round; one scheduling hiccup of this process (it runs the hub,
        # its writer and the other partner's client on a 2-core machine) can outlast the bound
        # in one round: the largest requests alone keep the loop 40-60 ms, 20-40x a booking's
        # median. So up to ROUNDS rounds, each with its own large booking, and the first round
        # within the bound shows the property. (The SQLite follow-up phase failed round after
        # round until a waiting loop batch got the next write turn, decision 38; since, 13 runs
        # passed in their first round.)
        for round_ in range(ROUNDS):
            ratios = _measure(settings, figure, round_)
            if all(ratio <= WAIT_RATIO for ratio in ratios.values()):
                break
        assert all(ratio <= WAIT_RATIO for ratio in ratios.values()), ratios
    finally:
        gc.unfreeze()


def _measure(settings: Settings, figure: Record, round_: int) -> dict[str, float]:
    """Baseline, then each large request with the other partner's bookings running beside it."""
    with serve(settings) as hub, requests.Session() as http:
        runtime: Runtime = hub.app.state.runtime
        small = SmallBookings(hub)
        _warm_up(http, hub, runtime)
        for _ in range(5):
            small.one(http)
        baseline = statistics.median(small.one(http) for _ in range(40))
        legal_order = _largest_legal_order(settings.max_body_bytes)
        legal_booking = _booking(MAX_TABLES, MAX_PREORDER_ITEMS, MAX_CLAIMED_CHECKS)
        legal_booking["bookingId"] += f"-round-{round_}"  # a new booking, followed anew
        large: list[tuple[str, str, str, dict[str, Any]]] = [
            ("20,000 checks", ORDER, POS_KEY, _order(20_000)),
            ("largest legal order", ORDER, POS_KEY, legal_order),
            ("largest legal booking", "/rms", RMS_KEY, legal_booking),
        ]
        waits: dict[str, float] = {}
        for name, url, key, body in large:
            data = json.dumps(body)  # the client's own work, before the other partner starts
            with small:
                started = time.perf_counter()
                answer = http.post(hub.base_url + url, data=data, headers=_json(key))
                took = time.perf_counter() - started
            assert answer.status_code in (200, 400), answer.text[:300]
            waits[name] = max(small.latencies)
            figure(**{f"{name} ms": round(took * 1000), f"{name} status": answer.status_code})
        with small:
            _follow_up(runtime, legal_booking["bookingId"])
        waits["the booking's follow-up"] = max(small.latencies)
    assert small.errors == []
    ratios = {name: round(wait / baseline, 1) for name, wait in waits.items()}
    figure(baseline_ms=round(baseline * 1000, 1), wait_over_baseline=ratios, round=round_)
    return ratios
