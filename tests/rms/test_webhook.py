"""`POST /rms`: the contract's payloads are accepted and stored; bad input stores nothing."""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest

from tests.factories import OTHER_VENUE, RMS_KEY, SEED_VENUE, Hub, bearer, fixture

SEEDS = [
    "rms_reservation_seated.json",
    "rms_reservation_preorder.json",
    "rms_reservation_with_checks.json",
]


def post(hub: Hub, body: Any, key: str = RMS_KEY) -> Any:
    """POST /rms with a JSON body."""
    return hub.client.post("/rms", json=body, headers=bearer(key))


def assert_nothing_stored(hub: Hub) -> None:
    assert hub.count("reservations") == 0
    assert hub.count("inbound_events") == 0


@pytest.mark.parametrize("name", SEEDS)
def test_seed_payload_is_accepted_and_stored(hub: Hub, name: str) -> None:
    payload = fixture(name)
    response = post(hub, payload)
    assert response.status_code == 200
    assert response.json() == {
        "bookingId": payload["bookingId"],
        "venueId": SEED_VENUE,
        "status": "accepted",
        "duplicate": False,
    }
    [row] = hub.rows("reservations")
    assert (row["venue_id"], row["booking_id"], row["rms_partner_id"]) == (
        "v1",
        payload["bookingId"],
        "rms-a",
    )
    assert (row["status"], row["party_size"], row["date"]) == (
        "seated",
        payload["partySize"],
        payload["date"],
    )
    assert row["version"] == 1
    [event] = hub.rows("inbound_events")
    assert (event["partner_id"], event["venue_id"], event["kind"]) == ("rms-a", "v1", "rms.booking")


def test_seed_fields_survive_in_the_stored_payload(hub: Hub) -> None:
    payload = fixture("rms_reservation_with_checks.json")
    assert post(hub, payload).status_code == 200
    [row] = hub.rows("reservations")
    stored = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
    assert stored["checks"] == payload["checks"]
    assert stored["contact"] == payload["contact"]
    assert stored["prepayment"] == payload["prepayment"]
    assert stored["notes"] == payload["notes"]


def test_preorder_items_are_stored(hub: Hub) -> None:
    payload = fixture("rms_reservation_preorder.json")
    assert post(hub, payload).status_code == 200
    [row] = hub.rows("reservations")
    items = row["items"] if isinstance(row["items"], list) else json.loads(row["items"])
    assert items == [
        {"sku": "PIZZA-001", "quantity": 2},
        {"sku": "WINE-012", "quantity": 1, "notes": "no ice"},
    ]


def test_unknown_fields_are_ignored(hub: Hub) -> None:
    payload = fixture("rms_reservation_seated.json") | {"loyaltyTier": "gold", "source": {"x": 1}}
    assert post(hub, payload).status_code == 200
    assert hub.count("reservations") == 1


def _field_error(response: Any, path: str) -> list[str]:
    body = response.json()
    assert body["error"]["code"] == response.status_code
    assert isinstance(body["error"]["message"], str)
    entry = body["error"]["details"][path]
    leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
    messages: list[str] = entry[0][leaf]
    assert messages
    return messages


def test_missing_booking_id_is_400_naming_it(hub: Hub) -> None:
    payload = fixture("rms_reservation_seated.json")
    del payload["bookingId"]
    response = post(hub, payload)
    assert response.status_code == 400
    _field_error(response, "bookingId")
    assert_nothing_stored(hub)


def test_blank_booking_id_is_400_not_blank(hub: Hub) -> None:
    response = post(hub, fixture("rms_reservation_seated.json") | {"bookingId": "  "})
    assert response.status_code == 400
    assert _field_error(response, "bookingId") == ["This value should not be blank."]
    assert_nothing_stored(hub)


def test_party_size_as_string_is_400(hub: Hub) -> None:
    response = post(hub, fixture("rms_reservation_seated.json") | {"partySize": "4"})
    assert response.status_code == 400
    _field_error(response, "partySize")
    assert_nothing_stored(hub)


def test_zero_quantity_is_400_naming_the_item(hub: Hub) -> None:
    payload = fixture("rms_reservation_preorder.json")
    payload["items"][1]["quantity"] = 0
    response = post(hub, payload)
    assert response.status_code == 400
    _field_error(response, "items[1].quantity")
    assert_nothing_stored(hub)


def test_unknown_venue_is_404_naming_venue_id(hub: Hub) -> None:
    response = post(hub, fixture("rms_reservation_seated.json") | {"venueId": "nowhere"})
    assert response.status_code == 404
    _field_error(response, "venueId")
    assert_nothing_stored(hub)


def test_another_partners_venue_is_404(hub: Hub) -> None:
    response = post(hub, fixture("rms_reservation_seated.json") | {"venueId": OTHER_VENUE})
    assert response.status_code == 404
    _field_error(response, "venueId")
    assert_nothing_stored(hub)


def test_two_megabyte_body_is_413(hub: Hub) -> None:
    payload = fixture("rms_reservation_seated.json") | {"notes": "x" * 2_000_000}
    response = post(hub, payload)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == 413
    assert_nothing_stored(hub)


def test_truncated_json_is_400(hub: Hub) -> None:
    raw = json.dumps(fixture("rms_reservation_seated.json"))[:-20]
    headers = bearer(RMS_KEY) | {"content-type": "application/json"}
    response = hub.client.post("/rms", content=raw, headers=headers)
    assert response.status_code == 400
    assert "Invalid JSON" in _field_error(response, "body")[0]
    assert_nothing_stored(hub)


def test_a_leading_byte_order_mark_is_ignored(hub: Hub) -> None:
    """As on the POS and admin routes: RFC 8259 lets a parser ignore a UTF-8 BOM."""
    payload = fixture("rms_reservation_seated.json")
    raw = codecs.BOM_UTF8 + json.dumps(payload).encode()
    headers = bearer(RMS_KEY) | {"content-type": "application/json"}
    response = hub.client.post("/rms", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    [row] = hub.rows("reservations")
    assert row["booking_id"] == payload["bookingId"]


@pytest.mark.parametrize("raw", ["[1, 2]", '"seated"', "null", "42"])
def test_non_object_json_is_400(hub: Hub, raw: str) -> None:
    headers = bearer(RMS_KEY) | {"content-type": "application/json"}
    response = hub.client.post("/rms", content=raw, headers=headers)
    assert response.status_code == 400
    _field_error(response, "body")
    assert_nothing_stored(hub)


def test_the_route_is_documented_and_other_methods_get_405_in_the_error_shape(hub: Hub) -> None:
    """`POST /rms` is served by a plain route ahead of its FastAPI one (`plain_routes` of
    connectors.mozrest.rms_routes): the OpenAPI page still describes it, and a wrong method
    still gets the contract's error."""
    operation = hub.client.get("/openapi.json").json()["paths"]["/rms"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"bookingId", "venueId", "status"} <= set(schema["properties"])
    for method in ("GET", "PUT", "DELETE"):
        response = hub.client.request(method, "/rms", headers=bearer(RMS_KEY))
        assert response.status_code == 405, method
        assert response.json()["error"]["code"] == 405
        assert "POST" in response.headers["allow"]
    assert_nothing_stored(hub)
