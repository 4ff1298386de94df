"""Concurrent webhooks share one writer job; one failing webhook does not fail the others."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.factories import RMS_KEY, Hub, bearer, fixture


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
