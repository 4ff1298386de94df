"""A walk-in and a booking seated on the same table are one POS order (decision 7), whichever
of the two reaches maitred first.

The finding: a walk-in the POS opened on a table, followed moments later by a booking seated on
the RMS table mapped to it, sometimes opened a second POS order. The condition: the booking's
follow-up ran before the walk-in's call was committed (the POS's call arrived late: retried,
held, or simply slower than the RMS's), found no order on the table, and asked the POS to open
one. Linking only looked for an order already there. Now the booking's create waits a moment
(`linking.WALK_IN_WINDOW`), and a walk-in that arrives on its tables before it has left becomes
the booking's order and the create is withdrawn; one that arrives after it left is flagged.
The other conditions found on the way: a POS that sends the deprecated `tableId` with an empty
`tables`, and a table that still carries an older unlinked order.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert, text

from maitred.clock import now
from maitred.config import Settings
from maitred.tables.models import TableMapping
from tests.factories import POS_KEY, RMS_KEY, Hub, bearer, fixture, open_hub

ORDER = "/v1/pos/pos-venue-1/order"
CREATE_KIND = "pos.create_order"


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    """The RMS and POS of venue v1 listening, RMS table R5 mapped to POS table T5; no worker:
    deliveries stay where the hub put them, follow-ups run when the test says."""
    with open_hub(settings) as running:
        with running.engine.begin() as connection:
            connection.execute(
                text("UPDATE partners SET webhook_url='http://127.0.0.1:9/hook' WHERE id='rms-a'")
            )
            connection.execute(
                text("UPDATE partners SET base_url='http://127.0.0.1:9' WHERE id='pos-1'")
            )
        with running.engine.begin() as connection:
            connection.execute(
                insert(TableMapping),
                [
                    {
                        "venue_id": "v1",
                        "rms_table_id": "R5",
                        "pos_table_id": "T5",
                        "state": "confirmed",
                        "confidence": 1.0,
                        "reason": "test",
                        "stale": False,
                        "updated_at": now(),
                    }
                ],
            )
        yield running


def _seat(hub: Hub, booking_id: str = "B-1") -> None:
    body = fixture("rms_reservation_seated.json") | {"bookingId": booking_id, "tables": ["R5"]}
    answer = hub.client.post("/rms", json=body, headers=bearer(RMS_KEY))
    assert answer.status_code == 200, answer.text
    hub.follow_up()


def _walk_in(hub: Hub, order_id: str = "walk-in-1", **fields: Any) -> str:
    body = copy.deepcopy(fixture("pos_order_open.json"))
    body |= {"id": order_id, "tables": ["T5"]} | fields
    body["checks"][0]["checkNumber"] = f"check-{order_id}"
    answer = hub.client.post(ORDER, json=body, headers=bearer(POS_KEY))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def _creates(hub: Hub) -> list[dict[str, Any]]:
    return [row for row in hub.rows("deliveries") if row["kind"] == CREATE_KIND]


def _events(hub: Hub, check_number: str) -> list[dict[str, Any]]:
    rows = sorted(hub.rows("deliveries"), key=lambda row: row["id"])
    bodies = [json.loads(row["body"]) for row in rows if row["kind"] == "rms.pos_order"]
    return [body for body in bodies if body["checkNumber"] == check_number]


def _flags(hub: Hub, kind: str) -> list[dict[str, Any]]:
    return [row for row in hub.rows("flags") if row["kind"] == kind]


def _as_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def test_a_walk_in_reaching_maitred_after_the_bookings_follow_up_is_linked_not_opened_twice(
    hub: Hub,
) -> None:
    _seat(hub)
    [create] = _creates(hub)
    assert create["state"] == "pending"
    # The create waits a moment before it leaves: the walk-in may be on its way.
    assert _as_time(create["next_attempt_at"]) > _as_time(create["created_at"])

    answered = _walk_in(hub)

    [order] = hub.rows("pos_orders")  # one order: the booking's, now the walk-in's
    assert order["id"] == answered
    assert (order["pos_order_id"], order["status"]) == ("walk-in-1", "open")
    assert order["reservation_id"] is not None
    [create] = _creates(hub)
    assert create["state"] == "superseded"  # the POS is not asked to open a second order
    [event] = _events(hub, "check-walk-in-1")
    assert (event["type"], event["bookingId"]) == ("create", "B-1")


def test_a_walk_in_after_the_bookings_create_left_is_flagged_not_merged(hub: Hub) -> None:
    _seat(hub)
    with hub.engine.begin() as connection:  # the POS has been asked already
        connection.execute(
            text("UPDATE deliveries SET attempts = 1 WHERE kind = :k"), {"k": CREATE_KIND}
        )

    _walk_in(hub)

    assert hub.count("pos_orders") == 2
    [flag] = _flags(hub, "order.walk_in_raced_booking")
    assert "walk-in-1" in flag["message"]
    assert "B-1" in flag["message"]


def test_a_walk_in_sent_with_the_deprecated_table_id_and_no_tables_is_linked(hub: Hub) -> None:
    walk_in = _walk_in(hub, tables=[], tableId="T5")

    _seat(hub)

    [order] = hub.rows("pos_orders")
    assert order["id"] == walk_in
    assert order["reservation_id"] is not None
    assert _creates(hub) == []


def test_a_booking_links_the_walk_in_just_opened_not_an_older_order_left_open(hub: Hub) -> None:
    _walk_in(hub, "lunch-left-open")
    fresh = _walk_in(hub, "walk-in-1")

    _seat(hub)

    linked = {row["pos_order_id"]: row["reservation_id"] for row in hub.rows("pos_orders")}
    assert linked["walk-in-1"] is not None
    assert linked["lunch-left-open"] is None
    assert fresh in {row["id"] for row in hub.rows("pos_orders") if row["reservation_id"]}
