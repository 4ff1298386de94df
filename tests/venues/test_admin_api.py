"""`/admin/venues` and `/admin/apply` over HTTP: links by role, errors naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from maitred.api.app import create_app
from maitred.config import Settings
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
VENUE = {"timezone": "Europe/Madrid", "rms": {"partner": "acme-rms", "venue_id": "r-1"}}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app with an rms and a pos partner."""
    with TestClient(create_app(settings)) as test_client:
        for partner_id, kind in (("acme-rms", "rms"), ("acme-pos", "pos")):
            body = {"kind": kind}
            assert test_client.put(f"/admin/partners/{partner_id}", json=body, headers=ADMIN)
        yield test_client


def test_put_creates_a_venue_with_its_links(client: TestClient) -> None:
    assert client.put("/admin/venues/trattoria", json=VENUE, headers=ADMIN).status_code == 201
    venue = client.get("/admin/venues/trattoria", headers=ADMIN).json()
    assert venue["rms"] == {"partner": "acme-rms", "venueId": "r-1"}  # read back in camelCase
    assert venue["pos"] is None
    assert [v["id"] for v in client.get("/admin/venues", headers=ADMIN).json()] == ["trattoria"]


def test_put_again_is_200_unchanged(client: TestClient) -> None:
    client.put("/admin/venues/trattoria", json=VENUE, headers=ADMIN)
    again = client.put("/admin/venues/trattoria", json=VENUE, headers=ADMIN)
    assert (again.status_code, again.json()["action"]) == (200, "unchanged")


def test_a_link_under_the_wrong_role_is_400_naming_it(client: TestClient) -> None:
    body = {"pos": {"partner": "acme-rms", "venue_id": "x"}}
    response = client.put("/admin/venues/trattoria", json=body, headers=ADMIN)
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["pos.partner"]


def test_a_bad_timezone_is_400_naming_it(client: TestClient) -> None:
    body = {"timezone": "Europe/Atlantis"}
    response = client.put("/admin/venues/trattoria", json=body, headers=ADMIN)
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["timezone"]


def test_delete_removes_the_venue(client: TestClient) -> None:
    client.put("/admin/venues/trattoria", json=VENUE, headers=ADMIN)
    assert client.delete("/admin/venues/trattoria", headers=ADMIN).status_code == 200
    assert client.get("/admin/venues/trattoria", headers=ADMIN).status_code == 404


def test_apply_names_the_failing_record_and_writes_nothing(client: TestClient) -> None:
    document = {
        "partners": [{"id": "new-pos", "kind": "pos"}],
        "venues": [{"id": "trattoria", "rms": {"partner": "new-pos", "venue_id": "x"}}],
    }
    response = client.post("/admin/apply", json=document, headers=ADMIN)
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["venues[0].rms.partner"]
    assert client.get("/admin/partners/new-pos", headers=ADMIN).status_code == 404
