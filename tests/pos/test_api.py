"""The POS-facing API (/v1/pos): the contract's payloads, bad input, scoping, duplicates."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import text

from tests.factories import POS_KEY, RMS_KEY, Hub, bearer, fixture

OPEN = "/v1/pos/pos-venue-1/order"


def _open(hub: Hub, body: dict[str, Any] | None = None) -> Any:
    return hub.client.post(
        OPEN, json=body or fixture("pos_order_open.json"), headers=bearer(POS_KEY)
    )


def test_the_contracts_open_and_close_payloads_are_accepted(hub: Hub) -> None:
    opened = _open(hub)
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "open"
    order_id = opened.json()["id"]
    closed = hub.client.put(
        f"{OPEN}/{order_id}/close", json=fixture("pos_order_close.json"), headers=bearer(POS_KEY)
    )
    assert closed.status_code == 200, closed.text
    assert closed.json() == {"id": order_id, "status": "closed"}
    [check] = hub.rows("checks")
    assert (check["check_number"], check["status"]) == ("98766", "closed")


def test_the_pos_may_use_its_own_order_id(hub: Hub) -> None:
    order_id = _open(hub).json()["id"]
    pos_id = fixture("pos_order_open.json")["id"]
    answer = hub.client.put(
        f"{OPEN}/{pos_id}/void", json=fixture("pos_order_open.json"), headers=bearer(POS_KEY)
    )
    assert answer.json() == {"id": order_id, "status": "void"}


def test_the_deprecated_table_id_is_accepted(hub: Hub) -> None:
    body = fixture("pos_order_open.json")
    del body["tables"]
    body["tableId"] = "T12"
    assert _open(hub, body).status_code == 200
    [order] = hub.rows("pos_orders")
    assert "T12" in str(order["pos_tables"])


def test_the_same_call_twice_has_one_effect(hub: Hub) -> None:
    first, second = _open(hub), _open(hub)
    assert first.json() == second.json()
    assert hub.count("pos_orders") == 1
    assert hub.count("inbound_events") == 1


def _broken(mutate: str) -> dict[str, Any]:
    body = copy.deepcopy(fixture("pos_order_open.json"))
    check = body["checks"][0]
    if mutate == "blank check number":
        check["checkNumber"] = " "
    elif mutate == "bad status":
        check["status"] = "paid"
    elif mutate == "party size as a string":
        body["partySize"] = "2"
    elif mutate == "item id as text":
        check["items"][0]["id"] = "one"
    elif mutate == "no id":
        del body["id"]
    return body


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        ("blank check number", "checks[0].checkNumber"),
        ("bad status", "checks[0].status"),
        ("party size as a string", "partySize"),
        ("item id as text", "checks[0].items[0].id"),
        ("no id", "id"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(
    hub: Hub, mutate: str, field: str
) -> None:
    answer = _open(hub, _broken(mutate))
    assert answer.status_code == 400
    assert field in answer.json()["error"]["details"]
    assert (hub.count("pos_orders"), hub.count("checks"), hub.count("inbound_events")) == (0, 0, 0)


@pytest.mark.parametrize(
    ("path", "key", "status"),
    [
        ("/v1/pos/pos-venue-1/order", None, 401),
        ("/v1/pos/pos-venue-1/order", "not-a-key-at-all-000", 401),
        ("/v1/pos/pos-venue-1/order", RMS_KEY, 404),  # an RMS is not this venue's POS
        ("/v1/pos/somebody-elses-venue/order", POS_KEY, 404),
    ],
)
def test_callers_without_this_venue_change_nothing(
    hub: Hub, path: str, key: str | None, status: int
) -> None:
    headers = bearer(key) if key else {}
    answer = hub.client.post(path, json=fixture("pos_order_open.json"), headers=headers)
    assert answer.status_code == status
    assert set(answer.json()) == {"error"}
    assert hub.count("pos_orders") == 0


def test_an_unknown_order_is_404_naming_it(hub: Hub) -> None:
    answer = hub.client.put(
        f"{OPEN}/no-such-order",
        json={**fixture("pos_order_open.json"), "id": "nope"},
        headers=bearer(POS_KEY),
    )
    assert answer.status_code == 404
    assert "orderId" in answer.json()["error"]["details"]


def test_a_venue_whose_rms_has_no_webhook_gets_no_event(hub: Hub) -> None:
    _open(hub)
    assert hub.count("deliveries") == 0
    [check] = hub.rows("checks")
    assert not check["announced"]  # told later, once the RMS can hear it


def test_a_walk_in_becomes_a_create_event_for_the_rms_without_booking(hub: Hub) -> None:
    with hub.engine.begin() as connection:
        connection.execute(
            text("UPDATE partners SET webhook_url = 'http://127.0.0.1:9/hook' WHERE id = 'rms-a'")
        )
    _open(hub)
    [delivery] = hub.rows("deliveries")
    assert delivery["kind"] == "rms.pos_order"
    assert '"type":"create"' in delivery["body"]
    assert '"bookingId":null' in delivery["body"]
    assert '"venueId":"60e890aca5f07b6ee5b950b1"' in delivery["body"]  # the RMS's own venue id


def _with_rms_webhook(hub: Hub) -> None:
    with hub.engine.begin() as connection:
        connection.execute(
            text("UPDATE partners SET webhook_url = 'http://127.0.0.1:9/hook' WHERE id = 'rms-a'")
        )


def _event_bodies(hub: Hub) -> list[dict[str, Any]]:
    rows = sorted(hub.rows("deliveries"), key=lambda row: row["id"])
    return [json.loads(row["body"]) for row in rows if row["kind"] == "rms.pos_order"]


def test_a_check_the_booking_claimed_before_the_pos_reported_it_carries_the_booking(
    hub: Hub,
) -> None:
    _with_rms_webhook(hub)
    booking = fixture("rms_reservation_with_checks.json")  # checks ["ca5f07b6e", "5f07b6233"]
    claimed = hub.client.post("/rms", json=booking, headers=bearer(RMS_KEY))
    assert claimed.status_code == 200, claimed.text
    assert hub.follow_up() == 1

    order = copy.deepcopy(fixture("pos_order_open.json"))
    order["checks"].append({**order["checks"][0], "checkNumber": "ca5f07b6e"})
    assert _open(hub, order).status_code == 200

    by_check = {body["checkNumber"]: body for body in _event_bodies(hub)}
    assert by_check["ca5f07b6e"]["bookingId"] == booking["bookingId"]
    assert by_check["98766"]["bookingId"] is None  # not claimed: still a walk-in's check


def test_a_check_claimed_after_the_pos_reported_it_is_updated_with_the_booking(
    hub: Hub,
) -> None:
    _with_rms_webhook(hub)
    order = copy.deepcopy(fixture("pos_order_open.json"))
    order["checks"][0]["checkNumber"] = "5f07b6233"
    assert _open(hub, order).status_code == 200

    booking = fixture("rms_reservation_with_checks.json")
    assert hub.client.post("/rms", json=booking, headers=bearer(RMS_KEY)).status_code == 200
    assert hub.follow_up() == 1

    bodies = [b for b in _event_bodies(hub) if b["checkNumber"] == "5f07b6233"]
    assert [(b["type"], b["bookingId"]) for b in bodies] == [
        ("create", None),
        ("update", booking["bookingId"]),
    ]
