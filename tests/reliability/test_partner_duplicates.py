"""Duplicates and order from partners: the same RMS booking webhook and POS order call sent once,
20 times at once (concurrent HTTP clients on a hub served on 127.0.0.1) and again after a hub
restart on the same database have one effect; and every arrival order of a check's updates,
with duplicates, ends in the same stored state and the same last event for the RMS."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.security import SecretBox
from tests.factories import POS_KEY, RMS_KEY, Hub, bearer, fixture, open_hub, seed_world
from tests.reliability.conftest import Record
from tests.reliability.live import LiveHub, changed_rows, dump, serve

POS_ORDER = "/v1/pos/pos-venue-1/order"
CONCURRENT = 20
RMS_HOOK = "UPDATE partners SET webhook_url = 'http://127.0.0.1:9/hook' WHERE id = 'rms-a'"


def _send(hub: LiveHub, method: str, path: str, key: str, body: Any) -> tuple[int, Any]:
    with requests.Session() as http:
        response = http.request(method, hub.base_url + path, json=body, headers=bearer(key))
        return response.status_code, response.json()


def _at_once(hub: LiveHub, method: str, path: str, key: str, body: Any) -> list[tuple[int, Any]]:
    """The same call from CONCURRENT clients at once."""
    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        calls = [pool.submit(_send, hub, method, path, key, body) for _ in range(CONCURRENT)]
        return [call.result() for call in calls]


def _seeded(settings: Settings) -> Engine:
    """The seeded world, with an RMS that listens (so each check change becomes an event)."""
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
        session.execute(text(RMS_HOOK))
    return engine


@pytest.mark.slow
def test_the_same_event_once_twenty_times_at_once_and_after_a_restart_has_one_effect(
    settings: Settings, figure: Record
) -> None:
    engine = _seeded(settings)
    booking = fixture("rms_reservation_seated.json")
    order = fixture("pos_order_open.json")
    changed = copy.deepcopy(order)
    changed["checks"][0]["totalAmount"] = 175.0
    sent = 0

    with serve(settings) as hub:
        # Once: one booking, one order with one check, one event for the RMS.
        assert _send(hub, "POST", "/rms", RMS_KEY, booking) == (
            200,
            {"bookingId": booking["bookingId"], "venueId": booking["venueId"]}
            | {"status": "accepted", "duplicate": False},
        )
        status, opened = _send(hub, "POST", POS_ORDER, POS_KEY, order)
        assert status == 200, opened
        update = f"{POS_ORDER}/{opened['id']}"
        sent += 2
        once = dump(engine)
        assert (len(once["reservations"]), len(once["pos_orders"]), len(once["checks"])) == (
            1,
            1,
            1,
        )
        assert len(once["deliveries"]) == 1

        # 20 at once, as retries of what was already stored: all answered, nothing changes.
        rms = _at_once(hub, "POST", "/rms", RMS_KEY, booking)
        pos = _at_once(hub, "POST", POS_ORDER, POS_KEY, order)
        sent += 2 * CONCURRENT
        assert {s for s, _ in rms + pos} == {200}
        assert all(answer["duplicate"] for _, answer in rms)
        assert {answer["id"] for _, answer in pos} == {opened["id"]}
        assert changed_rows(once, dump(engine)) == 0

        # A real change sent 20 times at once for the first time: exactly one update event.
        updates = _at_once(hub, "PUT", update, POS_KEY, changed)
        sent += CONCURRENT
        assert {s for s, _ in updates} == {200}
        changed_once = dump(engine)
        assert len(changed_once["deliveries"]) == 2
        assert changed_rows(once, changed_once) > 0

    with serve(settings) as hub:  # a new process' worth of state on the same database
        again = [
            _send(hub, "POST", "/rms", RMS_KEY, booking),
            _send(hub, "POST", POS_ORDER, POS_KEY, order),
            _send(hub, "PUT", update, POS_KEY, changed),
            *_at_once(hub, "PUT", update, POS_KEY, changed),
        ]
        sent += 3 + CONCURRENT
        assert {s for s, _ in again} == {200}
        assert again[0][1]["duplicate"] is True
        after_restart = dump(engine)

    assert changed_rows(changed_once, after_restart) == 0
    bodies = _delivery_bodies(engine)
    engine.dispose()
    assert [(b["type"], b["commercials"]["totalAmount"]) for b in bodies] == [
        ("create", 150.0),
        ("update", 175.0),
    ]
    figure(
        calls=sent,
        effects={"reservations": 1, "pos_orders": 1, "checks": 1, "deliveries": len(bodies)},
        duplicated_effects=0,
    )


def _delivery_bodies(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT body FROM deliveries WHERE kind = 'rms.pos_order' ORDER BY id")
        )
        return [json.loads(row[0]) for row in rows]


# One check's life as the POS reports it: opened, items added, a tip, closed. Each state carries
# the POS's `updatedAt`, which is what lets maitred put late arrivals in their place.
STATES = [
    ("update", "open", "40.00", "0", "2026-11-23T20:00:00Z"),
    ("update", "open", "110.00", "0", "2026-11-23T20:10:00Z"),
    ("update", "open", "110.00", "15.00", "2026-11-23T20:20:00Z"),
    ("close", "closed", "110.00", "15.00", "2026-11-23T20:30:00Z"),
]
_example = itertools.count(1)
EXAMPLES = 30
_played: dict[str, int] = {}  # examples run, per database


def _call(order_id: str, check_number: str, state: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    action, status, total, tip, updated_at = state
    body = fixture("pos_order_open.json")
    body["id"] = order_id
    body["status"] = status
    body["updatedAt"] = updated_at
    body["checks"][0] |= {
        "checkNumber": check_number,
        "status": status,
        "totalAmount": float(total),
        "tip": float(tip),
    }
    path = f"{POS_ORDER}/{order_id}" + ("/close" if action == "close" else "")
    return path, body


def _final(hub: Hub, order_id: str, check_number: str) -> tuple[Any, ...]:
    """The stored check and order, and the last event the RMS would get, without ids."""
    [check] = [row for row in hub.rows("checks") if row["check_number"] == check_number]
    [order] = [row for row in hub.rows("pos_orders") if row["pos_order_id"] == order_id]
    bodies = [
        json.loads(row["body"])
        for row in sorted(hub.rows("deliveries"), key=lambda row: row["id"])
        if f'"checkNumber":"{check_number}"' in row["body"]
    ]
    last = bodies[-1]
    stored = (check["status"], str(check["total_amount"]), str(check["tip"]), check["items"])
    event = (last["status"], last["commercials"], last["items"], last["partySize"])
    return stored, (order["status"], order["party_size"]), event, len(bodies)


def _play(hub: Hub, arrivals: list[int]) -> tuple[Any, ...]:
    """Open a fresh order (its own ids), then deliver the states in `arrivals` order."""
    n = next(_example)
    order_id, check_number = f"perm-{n}", f"C{n}"
    opened = fixture("pos_order_open.json")
    opened["id"] = order_id
    opened["updatedAt"] = "2026-11-23T19:55:00Z"
    opened["checks"][0]["checkNumber"] = check_number
    answer = hub.client.post(POS_ORDER, json=opened, headers=bearer(POS_KEY))
    assert answer.status_code == 200, answer.text
    for index in arrivals:
        path, body = _call(order_id, check_number, STATES[index])
        response = hub.client.put(path, json=body, headers=bearer(POS_KEY))
        assert response.status_code == 200, response.text
    return _final(hub, order_id, check_number)


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    """The hub, with an RMS that listens (so each check change becomes an event)."""
    with open_hub(settings) as running:
        with running.engine.begin() as connection:
            connection.execute(text(RMS_HOOK))
        yield running


@pytest.mark.slow
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    order=st.permutations(range(len(STATES))),
    repeats=st.lists(st.integers(0, len(STATES) - 1), max_size=4),
    positions=st.lists(st.integers(0, 8), min_size=4, max_size=4),
)
def test_every_arrival_order_of_a_checks_updates_ends_in_the_same_state(
    hub: Hub, figure: Record, order: list[int], repeats: list[int], positions: list[int]
) -> None:
    arrivals = list(order)
    for repeat, position in zip(repeats, positions, strict=False):
        arrivals.insert(min(position, len(arrivals)), repeat)  # a duplicate, anywhere
    in_order = _play(hub, list(range(len(STATES))))
    shuffled = _play(hub, arrivals)
    assert shuffled[:3] == in_order[:3]
    assert shuffled[3] <= in_order[3]  # late arrivals may be dropped, never sent twice
    url = hub.settings.database_url
    _played[url] = _played.get(url, 0) + 1
    figure(arrival_orders=_played[url], calls_per_order=len(arrivals) + 1, mismatches=0)
