"""Who gets in: partner keys through `authenticate_partner`, the admin token on `/admin`.

The app is the real one (lifespan, middleware, error handlers); partner authentication is
probed through a test-only route that depends on `PartnerDep`, since the partner-facing routes
are someone else's and change on their own schedule.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from maitred.api.app import create_app
from maitred.config import Settings
from maitred.web.deps import PartnerDep
from tests.apply.documents import raw_rows
from tests.conftest import ADMIN_TOKEN

KEY = "probe-partner-key-1f2e3d4c5b6a"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

probe = APIRouter()


@probe.get("/test-probe")
async def whoami(caller: PartnerDep) -> dict[str, str]:
    """Echo the authenticated partner."""
    return {"partner": caller.partner_id, "kind": caller.kind}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app plus the probe route, with one rms partner holding `KEY`."""
    app = create_app(settings)
    app.include_router(probe)
    with TestClient(app) as test_client:
        created = test_client.put(
            "/admin/partners/probe-rms", json={"kind": "rms", "api_key": KEY}, headers=ADMIN
        )
        assert created.status_code == 201
        yield test_client


def _assert_401(response: Any) -> None:
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == 401
    assert error["message"]
    assert error["details"] == {}


def test_the_partner_key_authenticates(client: TestClient) -> None:
    response = client.get("/test-probe", headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 200
    assert response.json() == {"partner": "probe-rms", "kind": "rms"}


def test_a_missing_key_is_401(client: TestClient) -> None:
    _assert_401(client.get("/test-probe"))


def test_a_wrong_key_is_401(client: TestClient) -> None:
    _assert_401(client.get("/test-probe", headers={"Authorization": f"Bearer {KEY}x"}))


def test_a_basic_credential_is_401(client: TestClient) -> None:
    _assert_401(client.get("/test-probe", headers={"Authorization": f"Basic {KEY}"}))


def test_an_empty_bearer_is_401(client: TestClient) -> None:
    _assert_401(client.get("/test-probe", headers={"Authorization": "Bearer "}))


def test_an_oversized_key_is_401(client: TestClient) -> None:
    _assert_401(client.get("/test-probe", headers={"Authorization": "Bearer " + "k" * 10_240}))


def test_a_rotated_key_takes_effect_at_once(client: TestClient) -> None:
    new_key = "probe-partner-key-rotated-9z8y7x"
    body = {"kind": "rms", "api_key": new_key}
    assert client.put("/admin/partners/probe-rms", json=body, headers=ADMIN).status_code == 200
    _assert_401(client.get("/test-probe", headers={"Authorization": f"Bearer {KEY}"}))
    ok = client.get("/test-probe", headers={"Authorization": f"Bearer {new_key}"})
    assert ok.status_code == 200


def test_a_deleted_partner_is_locked_out_at_once(client: TestClient) -> None:
    assert client.delete("/admin/partners/probe-rms", headers=ADMIN).status_code == 200
    _assert_401(client.get("/test-probe", headers={"Authorization": f"Bearer {KEY}"}))


ADMIN_WRITES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PUT", "/admin/partners/intruder", {"kind": "pos", "api_key": "intruder-key-0123456789"}),
    ("PUT", "/admin/partners/probe-rms", {"kind": "rms", "api_key": "taken-over-0123456789"}),
    ("DELETE", "/admin/partners/probe-rms", None),
    ("PUT", "/admin/venues/v1", {"timezone": "UTC"}),
    ("POST", "/admin/apply", {"partners": [{"id": "intruder", "kind": "pos"}]}),
]
CREDENTIALS = {
    "none": {},
    "wrong": {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
    "basic": {"Authorization": f"Basic {ADMIN_TOKEN}"},
    "partner_key": {"Authorization": f"Bearer {KEY}"},
}


@pytest.mark.parametrize("credential", list(CREDENTIALS))
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_WRITES)
def test_admin_writes_without_the_admin_token_are_401_and_change_nothing(
    client: TestClient,
    settings: Settings,
    credential: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    before = raw_rows(settings.database_url)
    response = client.request(method, path, json=body, headers=CREDENTIALS[credential])
    _assert_401(response)
    assert raw_rows(settings.database_url) == before


@pytest.mark.parametrize(
    "path", ["/admin/partners", "/admin/partners/probe-rms/signing-secret", "/admin/venues"]
)
def test_admin_reads_need_the_admin_token(client: TestClient, path: str) -> None:
    _assert_401(client.get(path, headers=CREDENTIALS["partner_key"]))
    assert client.get(path, headers=ADMIN).status_code == 200


def test_admin_api_is_closed_when_no_admin_token_is_configured(settings: Settings) -> None:
    closed = settings.model_copy(update={"admin_token": None})
    with TestClient(create_app(closed)) as test_client:
        _assert_401(test_client.get("/admin/partners", headers=ADMIN))
        _assert_401(test_client.get("/admin/partners", headers={"Authorization": "Bearer "}))
