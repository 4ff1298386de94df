"""The same full state sent again (a retry) is one inbound event and one reservation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.factories import RMS_KEY, Hub, bearer, fixture


def test_same_webhook_twice_is_one_event_and_a_duplicate_answer(hub: Hub) -> None:
    payload = fixture("rms_reservation_seated.json")
    first = hub.client.post("/rms", json=payload, headers=bearer(RMS_KEY))
    second = hub.client.post("/rms", json=payload, headers=bearer(RMS_KEY))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["duplicate"] is False
    assert second.json() == first.json() | {"duplicate": True}
    assert hub.count("inbound_events") == 1
    assert hub.count("reservations") == 1
    assert hub.rows("reservations")[0]["version"] == 1


def test_twenty_concurrent_identical_posts_are_one_event(hub: Hub) -> None:
    payload = fixture("rms_reservation_preorder.json")

    def send(_: int) -> tuple[int, bool]:
        response = hub.client.post("/rms", json=payload, headers=bearer(RMS_KEY))
        return response.status_code, bool(response.json()["duplicate"])

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))
    assert {status for status, _ in answers} == {200}
    assert sum(1 for _, duplicate in answers if not duplicate) == 1
    assert hub.count("inbound_events") == 1
    assert hub.count("reservations") == 1


def test_same_booking_at_another_partners_venue_is_independent(hub: Hub) -> None:
    payload = fixture("rms_reservation_seated.json")
    assert hub.client.post("/rms", json=payload, headers=bearer(RMS_KEY)).status_code == 200
    other = payload | {"venueId": "rms-b-venue-1"}
    from tests.factories import OTHER_RMS_KEY

    response = hub.client.post("/rms", json=other, headers=bearer(OTHER_RMS_KEY))
    assert response.status_code == 200
    assert response.json()["duplicate"] is False
    assert {r["venue_id"] for r in hub.rows("reservations")} == {"v1", "v2"}
