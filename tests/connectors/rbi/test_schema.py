"""The published JSON schemas say what the validators accept: the bounds are schema keywords
(clients generated from the OpenAPI make the same checks), and both agree on good and bad bodies.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs  # comes with schemathesis (dev dependency)
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from maitred.connectors.rbi import pos_wire
from maitred.connectors.rbi.channel_wire import CommitOrder, OrderAnswer, PlaceOrder, PriceOrder
from maitred.connectors.rbi.types import Money
from tests.connectors.rbi.support import fixture

Model = type[BaseModel] | TypeAdapter[Any]


def schema_of(model: Model) -> dict[str, Any]:
    if isinstance(model, TypeAdapter):
        return model.json_schema()
    return model.model_json_schema()


def accepted_by_model(model: Model, body: Any) -> bool:
    try:
        if isinstance(model, TypeAdapter):
            model.validate_python(body)
        else:
            model.model_validate(body)
    except ValidationError:
        return False
    return True


def accepted_by_schema(model: Model, body: Any) -> bool:
    return bool(jsonschema_rs.validator_for(schema_of(model), validate_formats=True).is_valid(body))


def variant(name: str, path: list[str | int], value: Any) -> Any:
    body = copy.deepcopy(fixture(name))
    node = body
    for part in path[:-1]:
        node = node[part]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


PRICE = "rbi_channel_price_order_request.json"
COMMIT = "rbi_channel_commit_order_request.json"
ORDER = "rbi_channel_order_priced_response.json"
PRICED = "rbi_pos_price_callback_priced.json"
LINE: list[str | int] = ["cart", "menuSelections", 1]
TEXT_PRICE = {"currency": "EUR", "amount": "1"}
AN_ERROR = [{"code": "MENU", "message": "x"}]
CALLBACK = TypeAdapter(pos_wire.PriceCallback)

SAMPLES: list[tuple[str, Model, Any]] = [
    ("price order", PriceOrder, fixture(PRICE)),
    ("quantity 0", PriceOrder, variant(PRICE, [*LINE, "quantity"], 0)),
    ("quantity 1", PriceOrder, variant(PRICE, [*LINE, "quantity"], 1)),
    ("quantity as text", PriceOrder, variant(PRICE, [*LINE, "quantity"], "1")),
    ("empty cart", PriceOrder, variant(PRICE, ["cart", "menuSelections"], [])),
    ("store id letters", PriceOrder, variant(PRICE, ["storeId"], "s1")),
    ("no customer", PriceOrder, variant(PRICE, ["customer"], ...)),
    ("price as text", PriceOrder, variant(PRICE, [*LINE, "price"], TEXT_PRICE)),
    ("commit order", CommitOrder, fixture(COMMIT)),
    ("lead time null", CommitOrder, variant(COMMIT, ["fireOrderInSeconds"], None)),
    ("lead time 0", CommitOrder, variant(COMMIT, ["fireOrderInSeconds"], 0)),
    ("lead time 100000", CommitOrder, variant(COMMIT, ["fireOrderInSeconds"], 100_000)),
    ("lead time 100001", CommitOrder, variant(COMMIT, ["fireOrderInSeconds"], 100_001)),
    ("lead time -1", CommitOrder, variant(COMMIT, ["fireOrderInSeconds"], -1)),
    ("lead time missing", CommitOrder, variant(COMMIT, ["fireOrderInSeconds"], ...)),
    ("amount 2^63-1", CommitOrder, variant(COMMIT, ["charges", "tax", "amount"], 2**63 - 1)),
    ("amount 2^63", CommitOrder, variant(COMMIT, ["charges", "tax", "amount"], 2**63)),
    ("currency lowercase", CommitOrder, variant(COMMIT, ["charges", "tax", "currency"], "eur")),
    ("currency 4 letters", CommitOrder, variant(COMMIT, ["charges", "tax", "currency"], "EURO")),
    ("unknown payment", CommitOrder, variant(COMMIT, ["paymentMethod"], "IOU")),
    ("order", OrderAnswer, fixture(ORDER)),
    ("order naive time", OrderAnswer, variant(ORDER, ["data", "createdAt"], "2026-12-03T19:30")),
    ("priced", CALLBACK, fixture(PRICED)),
    ("priced no cart", CALLBACK, variant(PRICED, ["cart"], ...)),
    ("priced with errors", CALLBACK, variant(PRICED, ["errors"], AN_ERROR)),
    ("price error", CALLBACK, fixture("rbi_pos_callback_error.json")),
    ("price says DONE", CALLBACK, variant("rbi_pos_callback_error.json", ["status"], "DONE")),
    ("event", pos_wire.OrderEvent, fixture("rbi_pos_order_event.json")),
    ("event PRICED", pos_wire.OrderEvent, {"status": "PRICED"}),
    ("heartbeat yes", pos_wire.HeartbeatAnswer, {"isOnline": True}),
    ("heartbeat text", pos_wire.HeartbeatAnswer, {"isOnline": "true"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "model", "body"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_schema_and_validators_agree(name: str, model: Model, body: Any) -> None:
    assert accepted_by_schema(model, body) == accepted_by_model(model, body)


def test_the_samples_hold_both_verdicts() -> None:
    verdicts = {accepted_by_model(model, body) for _, model, body in SAMPLES}
    assert verdicts == {True, False}


def test_the_bounds_are_schema_keywords() -> None:
    commit = CommitOrder.model_json_schema()
    lead = commit["properties"]["fireOrderInSeconds"]
    assert {"type": "integer", "minimum": 0, "maximum": 100000} in lead["anyOf"]
    assert {"type": "null"} in lead["anyOf"]
    assert "fireOrderInSeconds" in commit["required"]
    money = Money.model_json_schema()["properties"]
    assert money["amount"] == {
        "exclusiveMaximum": 2**63,
        "minimum": -(2**63),
        "title": "Amount",
        "type": "integer",
    }
    assert money["currency"]["pattern"] == "^[A-Z]{3}$"
    selection = PriceOrder.model_json_schema()["$defs"]["MenuSelection"]["properties"]
    assert selection["quantity"]["minimum"] == 1
    place = PlaceOrder.model_json_schema()
    assert {"paymentMethod", "fireOrderInSeconds", "cart", "storeId"} <= set(place["required"])


def test_an_integral_float_is_the_one_known_difference() -> None:
    # JSON Schema counts 1.0 as an integer; the validators want 1 (no client sends 1.0).
    body = variant(PRICE, [*LINE, "quantity"], 1.0)
    assert accepted_by_schema(PriceOrder, body)
    assert not accepted_by_model(PriceOrder, body)
