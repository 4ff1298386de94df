"""The published OpenAPI document says what the partner routes accept: the contract's example
payloads are valid against it, it and the validators agree on the edges of every bound, and
its integer bounds are the validators' own (not floats rounded on the way)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema_rs  # comes with schemathesis (dev dependency)
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from maitred.api.app import create_app
from maitred.config import Settings
from maitred.connectors.mozrest.pos_wire import PosOrder
from maitred.connectors.mozrest.wire import ReservationWebhook
from maitred.connectors.rbi.errors import status_body
from maitred.connectors.rbi.web import ERRORS
from maitred.db.migrate import upgrade
from tests.factories import fixture

RMS = ("/rms", "post")
POS_WRITES = [
    ("/v1/pos/{venueId}/order", "post"),
    ("/v1/pos/{venueId}/order/{orderId}", "put"),
    ("/v1/pos/{venueId}/order/{orderId}/close", "put"),
    ("/v1/pos/{venueId}/order/{orderId}/void", "put"),
]
# The contract's example bodies, by the operations that take them.
REQUESTS = [
    (RMS, "rms_reservation_seated.json"),
    (RMS, "rms_reservation_preorder.json"),
    (RMS, "rms_reservation_with_checks.json"),
    *((operation, "pos_order_open.json") for operation in POS_WRITES),
    *((operation, "pos_order_close.json") for operation in POS_WRITES),
]
RESPONSES = [
    (("/venues/{venueId}/pos-tables", "get"), "hub_pos_tables_response.json"),
    (POS_WRITES[0], "pos_order_response.json"),
]
WHOLE_FLOATS = 2**53  # past this, a float no longer holds every integer


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document the hub serves at /openapi.json (building it touches no database)."""
    folder: Path = tmp_path_factory.mktemp("openapi")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'maitred.db'}",
        data_dir=folder,
        secret_key=Fernet.generate_key().decode(),
    )
    served: dict[str, Any] = json.loads(json.dumps(create_app(settings).openapi()))
    return served


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A JSON Schema 2020-12 validator (OpenAPI 3.1's dialect) for `schema`, its `$ref`s read
    in the document's components, formats checked."""
    rooted = {**schema, "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(rooted, validate_formats=True)


def request_schema(document: dict[str, Any], operation: tuple[str, str]) -> dict[str, Any]:
    path, method = operation
    body = document["paths"][path][method]["requestBody"]
    schema: dict[str, Any] = body["content"]["application/json"]["schema"]
    return schema


def response_schema(document: dict[str, Any], operation: tuple[str, str]) -> dict[str, Any]:
    path, method = operation
    answer = document["paths"][path][method]["responses"]["200"]
    schema: dict[str, Any] = answer["content"]["application/json"]["schema"]
    return schema


@pytest.mark.parametrize(("operation", "name"), REQUESTS, ids=[f"{o[0]} {n}" for o, n in REQUESTS])
def test_the_contract_examples_are_valid_requests(
    document: dict[str, Any], operation: tuple[str, str], name: str
) -> None:
    check = validator(document, request_schema(document, operation))
    assert check.is_valid(fixture(name)), [e.message for e in check.iter_errors(fixture(name))]


@pytest.mark.parametrize(("operation", "name"), RESPONSES, ids=[n for _, n in RESPONSES])
def test_the_contract_examples_are_valid_answers(
    document: dict[str, Any], operation: tuple[str, str], name: str
) -> None:
    check = validator(document, response_schema(document, operation))
    assert check.is_valid(fixture(name)), [e.message for e in check.iter_errors(fixture(name))]


def variant(name: str, path: list[str | int], value: Any) -> Any:
    """The fixture `name` with the value at `path` replaced (`...`: removed)."""
    body: Any = copy.deepcopy(fixture(name))
    node = body
    for part in path[:-1]:
        node = node[part]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


BOOKING = "rms_reservation_seated.json"
PREORDER = "rms_reservation_preorder.json"
ORDER = "pos_order_open.json"
CHECK: list[str | int] = ["checks", 0]
ITEM: list[str | int] = [*CHECK, "items", 0]
A_CHECK = fixture(ORDER)["checks"][0]
AN_ITEM = A_CHECK["items"][0]
A_SKU = fixture(PREORDER)["items"][0]
BOUND = 9_999_999_999.995  # an amount at it rounds to 10^10, past NUMERIC(12, 2)
UNDER = 9_999_999_999.994
Sample = tuple[str, type[BaseModel], Any]
SAMPLES: list[Sample] = [
    ("party of 2^31-1", ReservationWebhook, variant(BOOKING, ["partySize"], 2**31 - 1)),
    ("party of 2^31", ReservationWebhook, variant(BOOKING, ["partySize"], 2**31)),
    ("party of 0", ReservationWebhook, variant(BOOKING, ["partySize"], 0)),
    ("party as text", ReservationWebhook, variant(BOOKING, ["partySize"], "4")),
    ("no date", ReservationWebhook, variant(BOOKING, ["date"], ...)),
    ("date 0", ReservationWebhook, variant(BOOKING, ["date"], 0)),
    ("date -1", ReservationWebhook, variant(BOOKING, ["date"], -1)),
    ("date 9999-12-29", ReservationWebhook, variant(BOOKING, ["date"], 253_402_127_999)),
    ("date 9999-12-30", ReservationWebhook, variant(BOOKING, ["date"], 253_402_128_000)),
    ("prepayment under the bound", ReservationWebhook, variant(BOOKING, ["prepayment"], UNDER)),
    ("prepayment at the bound", ReservationWebhook, variant(BOOKING, ["prepayment"], BOUND)),
    ("prepayment at -bound", ReservationWebhook, variant(BOOKING, ["prepayment"], -BOUND)),
    ("prepayment 1e300", ReservationWebhook, variant(BOOKING, ["prepayment"], 1e300)),
    ("venue id blank", ReservationWebhook, variant(BOOKING, ["venueId"], " ")),
    ("venue id 200", ReservationWebhook, variant(BOOKING, ["venueId"], "v" * 200)),
    ("venue id 201", ReservationWebhook, variant(BOOKING, ["venueId"], "v" * 201)),
    ("notes with NUL", ReservationWebhook, variant(BOOKING, ["notes"], "no\x00peanuts")),
    ("status with NUL", ReservationWebhook, variant(BOOKING, ["status"], "seated\x00")),
    ("50 tables", ReservationWebhook, variant(BOOKING, ["tables"], ["T"] * 50)),
    ("51 tables", ReservationWebhook, variant(BOOKING, ["tables"], ["T"] * 51)),
    ("101 claimed checks", ReservationWebhook, variant(BOOKING, ["checks"], ["c"] * 101)),
    ("quantity 0", ReservationWebhook, variant(PREORDER, ["items", 0, "quantity"], 0)),
    ("100 pre-ordered items", ReservationWebhook, variant(PREORDER, ["items"], [A_SKU] * 100)),
    ("101 pre-ordered items", ReservationWebhook, variant(PREORDER, ["items"], [A_SKU] * 101)),
    ("item id 2^63-1", PosOrder, variant(ORDER, [*ITEM, "id"], 2**63 - 1)),
    ("item id 2^63", PosOrder, variant(ORDER, [*ITEM, "id"], 2**63)),
    ("item id -2^63", PosOrder, variant(ORDER, [*ITEM, "id"], -(2**63))),
    ("item id -2^63-1", PosOrder, variant(ORDER, [*ITEM, "id"], -(2**63) - 1)),
    ("quantity -1", PosOrder, variant(ORDER, [*ITEM, "quantity"], -1)),
    ("price 12.345", PosOrder, variant(ORDER, [*ITEM, "price"], 12.345)),
    ("total over -bound", PosOrder, variant(ORDER, [*CHECK, "totalAmount"], -UNDER)),
    ("total 10^10", PosOrder, variant(ORDER, [*CHECK, "totalAmount"], 10**10)),
    ("tip as a boolean", PosOrder, variant(ORDER, [*CHECK, "tip"], True)),
    ("check number blank", PosOrder, variant(ORDER, [*CHECK, "checkNumber"], "\t")),
    ("check number 101", PosOrder, variant(ORDER, [*CHECK, "checkNumber"], "9" * 101)),
    ("check status paid", PosOrder, variant(ORDER, [*CHECK, "status"], "paid")),
    ("payment method 65", PosOrder, variant(ORDER, [*CHECK, "paymentMethod"], "c" * 65)),
    ("order status void", PosOrder, variant(ORDER, ["status"], "void")),
    ("no order id", PosOrder, variant(ORDER, ["id"], ...)),
    ("updated 2026", PosOrder, variant(ORDER, ["updatedAt"], "2026-12-03T19:30:00+01:00")),
    ("updated 1969", PosOrder, variant(ORDER, ["updatedAt"], "1969-12-31T23:59:59Z")),
    ("updated 10000", PosOrder, variant(ORDER, ["updatedAt"], "+10000-01-01T00:00:00Z")),
    ("updated 9999-12-30", PosOrder, variant(ORDER, ["updatedAt"], "9999-12-30T00:00:00Z")),
    ("51 checks", PosOrder, variant(ORDER, ["checks"], [A_CHECK] * 51)),
    ("501 items", PosOrder, variant(ORDER, [*CHECK, "items"], [AN_ITEM] * 501)),
]  # fmt: skip
SCHEMAS = {ReservationWebhook: RMS, PosOrder: POS_WRITES[0]}


def accepted_by_model(model: type[BaseModel], body: Any) -> bool:
    try:
        model.model_validate_json(json.dumps(body))
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("name", "model", "body"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_the_document_and_the_validators_agree(
    document: dict[str, Any], name: str, model: type[BaseModel], body: Any
) -> None:
    check = validator(document, request_schema(document, SCHEMAS[model]))
    assert check.is_valid(body) == accepted_by_model(model, body)


def test_the_samples_hold_both_verdicts() -> None:
    verdicts = [accepted_by_model(model, body) for _, model, body in SAMPLES]
    assert 5 < sum(verdicts) < len(verdicts) - 5


def test_a_whole_float_is_the_one_known_difference(document: dict[str, Any]) -> None:
    # JSON Schema counts 4.0 as an integer; the validators want 4 (decision 0023).
    body = variant(BOOKING, ["partySize"], 4.0)
    assert validator(document, request_schema(document, RMS)).is_valid(body)
    assert not accepted_by_model(ReservationWebhook, body)


def integer_bounds(node: Any) -> list[tuple[str, Any]]:
    """Every (keyword, value) bounding an integer anywhere in `node`."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "integer":
            found += [(k, v) for k, v in node.items() if k in ("minimum", "maximum") or "xclu" in k]
        for value in node.values():
            found += integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            found += integer_bounds(value)
    return found


def test_integer_bounds_are_the_validators_own(document: dict[str, Any]) -> None:
    """FastAPI keeps bounds as floats; the document spells them as integers again, which is
    exact only up to 2^53 and for ±2^63 themselves (a `le=2**63 - 1` would read as 2^63)."""
    bounds = integer_bounds(document)
    assert ("exclusiveMaximum", 2**63) in bounds  # the POS's item ids
    for keyword, value in bounds:
        assert type(value) is int, (keyword, value)
        beyond = abs(value) > WHOLE_FLOATS
        assert not beyond or (keyword, value) in {
            ("minimum", -(2**63)),
            ("exclusiveMaximum", 2**63),
        }


RBI_PREFIXES = ("/v1/channel/", "/v1/orders", "/v1/stores")
# The statuses the RBI routes answer themselves (415 and 429 included); the edge's (413, 431)
# come in the hub's shape.
RBI_STATUSES = {str(status) for status in ERRORS}
MOZREST_ERROR = {"error": {"code": 404, "message": "no such order", "details": {}}}


def error_schemas(document: dict[str, Any], rbi: bool) -> list[tuple[str, dict[str, Any]]]:
    """(operation, schema) of the documented error answers of the RBI routes (`rbi`: those they
    render themselves) or of every 4xx/5xx of the contracts' other partner routes under /v1."""
    found = []
    for path, item in document["paths"].items():
        if not path.startswith("/v1/") or path.startswith(RBI_PREFIXES) != rbi:
            continue
        for method, operation in item.items():
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {}).get("application/json")
                answered = status in RBI_STATUSES if rbi else status[0] in "45"
                if answered and content is not None:
                    found.append((f"{method} {path} {status}", content["schema"]))
    return found


def test_each_contract_publishes_its_own_error_shape(document: dict[str, Any]) -> None:
    """Two error bodies are both named ErrorBody in the code; the document must keep them
    apart (a title alone would not: the components are keyed by class name, and the RBI
    routes would then point at the Mozrest shape)."""
    rbi_body = status_body(404, "no such order").model_dump(exclude_none=True)
    rbi, others = error_schemas(document, rbi=True), error_schemas(document, rbi=False)
    assert len(rbi) > 20
    assert len(others) > 10
    for where, schema in rbi:
        check = validator(document, schema)
        assert check.is_valid(rbi_body), where
        assert not check.is_valid(MOZREST_ERROR), where
    for where, schema in others:
        check = validator(document, schema)
        assert check.is_valid(MOZREST_ERROR), where
        assert not check.is_valid(rbi_body), where


@pytest.mark.parametrize(
    "operation",
    [("/v1/channel/orders/price", "post"), ("/v1/orders/{orderId}/commit/callback", "post")],
)
def test_an_rbi_route_answers_415_as_its_document_says(
    document: dict[str, Any], operation: tuple[str, str], tmp_path: Path
) -> None:
    """The body rule's 415 is raised inside the route, so it comes in the route's own shape."""
    url = f"sqlite:///{tmp_path / 'maitred.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url, data_dir=tmp_path, secret_key=Fernet.generate_key().decode()
    )
    path, method = operation
    with TestClient(create_app(settings)) as client:
        answer = client.request(
            method,
            path.replace("{orderId}", "o-1"),
            content=b"{}",
            headers={"Content-Type": "text/plain", "Authorization": "Bearer k"},
        )
    assert answer.status_code == 415
    schema = document["paths"][path][method]["responses"]["415"]["content"]["application/json"]
    assert validator(document, schema["schema"]).is_valid(answer.json())
