"""`GET /venues/{venueId}/pos-tables` (seed 001): the shape, scoped to the caller's venues."""

from __future__ import annotations

from tests.factories import OTHER_VENUE, POS_KEY, RMS_KEY, SEED_VENUE, Hub, bearer


def test_linked_venue_answers_the_contract_shape(hub: Hub) -> None:
    response = hub.client.get(f"/venues/{SEED_VENUE}/pos-tables", headers=bearer(RMS_KEY))
    assert response.status_code == 200
    assert response.json() == {"venueId": SEED_VENUE, "tables": [], "count": 0}


def test_another_partners_venue_is_404(hub: Hub) -> None:
    response = hub.client.get(f"/venues/{OTHER_VENUE}/pos-tables", headers=bearer(RMS_KEY))
    assert response.status_code == 404


def test_unknown_venue_is_404(hub: Hub) -> None:
    response = hub.client.get("/venues/nowhere/pos-tables", headers=bearer(RMS_KEY))
    assert response.status_code == 404


def test_pos_partner_is_404(hub: Hub) -> None:
    response = hub.client.get(f"/venues/{SEED_VENUE}/pos-tables", headers=bearer(POS_KEY))
    assert response.status_code == 404


def test_missing_key_is_401(hub: Hub) -> None:
    assert hub.client.get(f"/venues/{SEED_VENUE}/pos-tables").status_code == 401
