"""`POST /rms` authentication: a wrong or missing key is 401, a non-RMS partner sees 404."""

from __future__ import annotations

from tests.factories import OTHER_RMS_KEY, POS_KEY, Hub, bearer, fixture


def assert_nothing_stored(hub: Hub) -> None:
    assert hub.count("reservations") == 0
    assert hub.count("inbound_events") == 0


def test_missing_key_is_401(hub: Hub) -> None:
    response = hub.client.post("/rms", json=fixture("rms_reservation_seated.json"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401
    assert_nothing_stored(hub)


def test_wrong_key_is_401(hub: Hub) -> None:
    response = hub.client.post(
        "/rms", json=fixture("rms_reservation_seated.json"), headers=bearer("not-a-key")
    )
    assert response.status_code == 401
    assert_nothing_stored(hub)


def test_non_bearer_scheme_is_401(hub: Hub) -> None:
    headers = {"Authorization": "Basic cm1zLWE6eA=="}
    response = hub.client.post("/rms", json=fixture("rms_reservation_seated.json"), headers=headers)
    assert response.status_code == 401
    assert_nothing_stored(hub)


def test_other_rms_key_for_this_venue_is_404(hub: Hub) -> None:
    response = hub.client.post(
        "/rms", json=fixture("rms_reservation_seated.json"), headers=bearer(OTHER_RMS_KEY)
    )
    assert response.status_code == 404
    assert "venueId" in response.json()["error"]["details"]
    assert_nothing_stored(hub)


def test_pos_partner_key_is_404(hub: Hub) -> None:
    response = hub.client.post(
        "/rms", json=fixture("rms_reservation_seated.json"), headers=bearer(POS_KEY)
    )
    assert response.status_code == 404
    assert_nothing_stored(hub)
