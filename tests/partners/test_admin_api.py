"""`/admin/partners`: create-or-update by PUT, reads without secrets, delete, the signing secret."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from maitred.api.app import create_app
from maitred.config import Settings
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BODY = {"kind": "pos", "api_key": "admin-api-key-9a8b7c6d5e", "base_url": "http://127.0.0.1:9"}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app on the test database."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_put_creates_then_reports_unchanged_then_updated(client: TestClient) -> None:
    first = client.put("/admin/partners/till", json=BODY, headers=ADMIN)
    assert (first.status_code, first.json()["action"]) == (201, "created")
    again = client.put("/admin/partners/till", json=BODY, headers=ADMIN)
    assert (again.status_code, again.json()["action"]) == (200, "unchanged")
    renamed = client.put("/admin/partners/till", json={**BODY, "name": "Till"}, headers=ADMIN)
    assert (renamed.status_code, renamed.json()["action"]) == (200, "updated")


def test_get_shows_which_secrets_exist(client: TestClient) -> None:
    client.put("/admin/partners/till", json=BODY, headers=ADMIN)
    partner = client.get("/admin/partners/till", headers=ADMIN).json()
    assert partner["hasApiKey"]
    assert partner["hasSigningSecret"]
    assert not partner["hasToken"]
    assert [p["id"] for p in client.get("/admin/partners", headers=ADMIN).json()] == ["till"]


def test_an_unknown_partner_is_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/admin/partners/nobody", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == 404


def test_delete_then_get_is_404(client: TestClient) -> None:
    client.put("/admin/partners/till", json=BODY, headers=ADMIN)
    assert client.delete("/admin/partners/till", headers=ADMIN).json()["action"] == "deleted"
    assert client.get("/admin/partners/till", headers=ADMIN).status_code == 404
    assert client.delete("/admin/partners/till", headers=ADMIN).status_code == 404


def test_a_bad_id_is_400_naming_it(client: TestClient) -> None:
    response = client.put("/admin/partners/Not_A_Slug!", json=BODY, headers=ADMIN)
    assert response.status_code == 400
    assert "partner_id" in response.json()["error"]["details"]


def test_a_bad_field_is_400_naming_it(client: TestClient) -> None:
    response = client.put("/admin/partners/till", json={**BODY, "kind": "till"}, headers=ADMIN)
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["kind"]


def test_an_unknown_field_is_refused(client: TestClient) -> None:
    response = client.put("/admin/partners/till", json={**BODY, "colour": "red"}, headers=ADMIN)
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["colour"]


def test_the_signing_secret_is_given_to_the_admin(client: TestClient) -> None:
    secret = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"
    client.put("/admin/partners/till", json={**BODY, "signing_secret": secret}, headers=ADMIN)
    response = client.get("/admin/partners/till/signing-secret", headers=ADMIN)
    assert response.json() == {"partnerId": "till", "signingSecret": secret}
