"""A newer full state updates the booking; the items desired-state rule (contracts.md §1.9.3)."""

from __future__ import annotations

import json
from typing import Any

from tests.factories import RMS_KEY, Hub, bearer, fixture


def send(hub: Hub, payload: dict[str, Any]) -> dict[str, Any]:
    response = hub.client.post("/rms", json=payload, headers=bearer(RMS_KEY))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def stored(hub: Hub) -> dict[str, Any]:
    [row] = hub.rows("reservations")
    for column in ("items", "payload", "rms_tables"):
        if isinstance(row[column], str):
            row[column] = json.loads(row[column])
    return row


def test_newer_state_updates_and_bumps_version(hub: Hub) -> None:
    payload = fixture("rms_reservation_seated.json")
    send(hub, payload)
    moved = payload | {"partySize": 6, "tables": ["t-2", "t-3"]}
    assert send(hub, moved)["duplicate"] is False
    row = stored(hub)
    assert (row["party_size"], row["rms_tables"], row["version"]) == (6, ["t-2", "t-3"], 2)
    assert hub.count("inbound_events") == 2


def test_omitted_items_on_update_leave_stored_items(hub: Hub) -> None:
    payload = fixture("rms_reservation_preorder.json")
    send(hub, payload)
    without = {k: v for k, v in payload.items() if k != "items"} | {"partySize": 3}
    send(hub, without)
    row = stored(hub)
    assert row["items"] == payload["items"]
    assert row["party_size"] == 3


def test_empty_items_on_update_leave_stored_items(hub: Hub) -> None:
    payload = fixture("rms_reservation_preorder.json")
    send(hub, payload)
    send(hub, payload | {"items": []})
    row = stored(hub)
    assert row["items"] == payload["items"]
    assert row["version"] == 1  # spec: empty == omitted, so nothing changed


def test_new_items_array_replaces_stored_items(hub: Hub) -> None:
    payload = fixture("rms_reservation_preorder.json")
    send(hub, payload)
    replacement = [{"sku": "MENU-7", "quantity": 2, "notes": "gluten free"}]
    send(hub, payload | {"items": replacement})
    row = stored(hub)
    assert row["items"] == replacement
    assert row["payload"]["items"] == replacement
    assert row["version"] == 2


def test_unchanged_content_does_not_bump_version(hub: Hub) -> None:
    payload = fixture("rms_reservation_preorder.json")
    send(hub, payload)
    without_items = {k: v for k, v in payload.items() if k != "items"}
    assert send(hub, without_items)["duplicate"] is False  # a new message, same content
    assert stored(hub)["version"] == 1


def test_returning_to_an_earlier_state_is_applied(hub: Hub) -> None:
    payload = fixture("rms_reservation_seated.json")
    send(hub, payload)
    send(hub, payload | {"tables": ["t-9"]})
    assert send(hub, payload)["duplicate"] is False  # moved back: a change, not a retry
    row = stored(hub)
    assert (row["rms_tables"], row["version"]) == (payload["tables"], 3)
    assert hub.count("inbound_events") == 3
