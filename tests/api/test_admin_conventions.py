"""The admin API as a newcomer meets it: one JSON spelling (camelCase, as the partner contracts),
filters that name their valid values, a bulk replay without a body, and /docs that works
offline with "Authorize"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from maitred.api.app import create_app
from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.deliveries.models import Delivery
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app on the test database."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _properties(schema: dict[str, Any], components: dict[str, Any], seen: set[str]) -> set[str]:
    """Every property name reachable from `schema` (following $refs)."""
    names: set[str] = set()
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return names
        seen.add(name)
        return _properties(components[name], components, seen)
    for key, value in schema.get("properties", {}).items():
        names.add(key)
        if key not in ("data", "requestHeaders", "details"):  # free-form maps of data
            names |= _properties(value, components, seen)
    for nested in ("items", "additionalProperties"):
        if isinstance(schema.get(nested), dict):
            names |= _properties(schema[nested], components, seen)
    for variants in ("anyOf", "allOf", "oneOf"):
        for variant in schema.get(variants, []):
            names |= _properties(variant, components, seen)
    return names


def test_every_admin_schema_is_spelled_in_camel_case(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    names: set[str] = set()
    for path, operations in document["paths"].items():
        if not path.startswith("/admin"):
            continue
        for operation in operations.values():
            bodies = [operation.get("requestBody", {})]
            bodies += [r for status, r in operation["responses"].items() if status < "300"]
            for body in bodies:
                for content in body.get("content", {}).values():
                    names |= _properties(content["schema"], components, set())
    assert len(names) > 60
    assert sorted(n for n in names if not CAMEL.match(n)) == []


def test_admin_writes_accept_the_apply_files_spelling_too(client: TestClient) -> None:
    snake = {"kind": "rms", "base_url": "http://127.0.0.1:9/", "api_key": "k" * 16}
    camel = {"kind": "rms", "baseUrl": "http://127.0.0.1:9/", "apiKey": "c" * 16}
    assert client.put("/admin/partners/snake", json=snake, headers=ADMIN).status_code == 201
    assert client.put("/admin/partners/camel", json=camel, headers=ADMIN).status_code == 201
    read = {p["id"]: p for p in client.get("/admin/partners", headers=ADMIN).json()}
    assert read["snake"]["baseUrl"] == read["camel"]["baseUrl"] == "http://127.0.0.1:9/"
    assert read["snake"]["hasApiKey"]
    assert read["camel"]["hasApiKey"]


@pytest.mark.parametrize(
    ("query", "field", "valid"),
    [
        ("/admin/deliveries?state=bogus", "state", "'pending', 'inflight', 'delivered'"),
        ("/admin/traces?outcome=failure", "outcome", "'success' or 'failed'"),
        ("/admin/traces?direction=sideways", "direction", "'inbound' or 'outbound'"),
        ("/admin/venues/v1/orders?status=paid", "status", "'requested', 'open'"),
    ],
)
def test_an_unknown_filter_value_is_a_400_naming_the_valid_ones(
    client: TestClient, query: str, field: str, valid: str
) -> None:
    answer = client.get(query, headers=ADMIN)
    assert answer.status_code == 400, answer.text
    details = answer.json()["error"]["details"]
    assert field in details
    assert valid in str(details[field])


def test_bulk_replay_without_a_body_replays_every_failed_delivery(
    client: TestClient, settings: Settings
) -> None:
    hooked = {"kind": "rms", "webhookUrl": "http://127.0.0.1:9/hook"}
    assert client.put("/admin/partners/hooked", json=hooked, headers=ADMIN).status_code == 201
    for _ in range(2):
        assert client.post("/admin/partners/hooked/ping", headers=ADMIN).status_code == 202
    engine = make_throwaway_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(update(Delivery).values(state="failed"))
    engine.dispose()
    answer = client.post("/admin/deliveries/replay", headers=ADMIN)
    again = client.post("/admin/deliveries/replay", headers=ADMIN)
    assert (answer.status_code, answer.json()) == (200, {"count": 2})
    assert again.json() == {"count": 0}


def test_docs_are_served_by_the_hub_and_declare_how_to_authorize(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        assert [a for a in assets if a.startswith("http")] == [], page  # no CDN, no fonts
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert {name: s["scheme"] for name, s in schemes.items()} == {
        "partnerKey": "bearer",
        "adminToken": "bearer",
    }
    paths = document["paths"]
    assert paths["/rms"]["post"]["security"] == [{"partnerKey": []}]
    assert paths["/admin/partners"]["get"]["security"] == [{"adminToken": []}]
