"""Bad input is refused, and the refusal names the field (in the contract's error shape)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from maitred.connectors.rbi import pos_wire
from maitred.connectors.rbi.channel_wire import CommitOrder, PriceOrder, StoreStatusChanged
from maitred.connectors.rbi.errors import validation_body
from maitred.connectors.rbi.events_wire import ChannelEvent
from tests.connectors.rbi.support import fixture

Mutation = Callable[[dict[str, Any]], None]
PRICE_CALLBACK = TypeAdapter(pos_wire.PriceCallback)


def _set(path: str, value: Any) -> Mutation:
    """A mutation setting `a.b[0].c` to `value` (a missing key is deleted with `...`)."""

    def mutate(body: dict[str, Any]) -> None:
        *parents, leaf = path.replace("[", ".").replace("]", "").split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        key: Any = int(leaf) if leaf.isdigit() else leaf
        if value is ...:
            del node[key]
        else:
            node[key] = value

    return mutate


def validate(model: type[BaseModel] | TypeAdapter[Any], body: Any) -> object:
    if isinstance(model, TypeAdapter):
        return model.validate_python(body)
    return model.model_validate(body)


def refusal(model: type[BaseModel] | TypeAdapter[Any], body: Any) -> tuple[str | None, str]:
    """The first error entry's location and message."""
    with pytest.raises(ValidationError) as caught:
        validate(model, body)
    entry = validation_body(caught.value).errors[0]
    return entry.location, entry.message


PRICE_ORDER = "rbi_channel_price_order_request.json"
COMMIT_ORDER = "rbi_channel_commit_order_request.json"
PRICED = "rbi_pos_price_callback_priced.json"
NESTED = "cart.menuSelections[0].menuSelections[0]"

CASES: dict[str, tuple[Any, str, Mutation, str, str]] = {
    "zero quantity": (PriceOrder, PRICE_ORDER, _set("cart.menuSelections[1].quantity", 0),
                      "cart.menuSelections[1].quantity", "must be at least 1"),
    "negative quantity": (PriceOrder, PRICE_ORDER, _set(f"{NESTED}.quantity", -1),
                          f"{NESTED}.quantity", "must be at least 1"),
    "quantity as text": (PriceOrder, PRICE_ORDER, _set("cart.menuSelections[1].quantity", "2"),
                         "cart.menuSelections[1].quantity", "must be an integer"),
    "fractional quantity": (PriceOrder, PRICE_ORDER, _set("cart.menuSelections[1].quantity", 1.5),
                            "cart.menuSelections[1].quantity", "must be an integer"),
    "empty children": (PriceOrder, PRICE_ORDER, _set(f"{NESTED}.menuSelections", []),
                       f"{NESTED}.menuSelections", "must contain at least 1 element"),
    "no cart": (PriceOrder, PRICE_ORDER, _set("cart", ...), "cart", "is required"),
    "store id not digits": (PriceOrder, PRICE_ORDER, _set("storeId", "store-1"), "storeId",
                            "must match ^\\d+$"),
    "unknown service mode": (PriceOrder, PRICE_ORDER, _set("serviceMode", "DRONE"), "serviceMode",
                             "must be one of"),
    "no email": (PriceOrder, PRICE_ORDER, _set("customer.email", ...), "customer.email",
                 "is required"),
    "phone without country": (PriceOrder, PRICE_ORDER, _set("customer.phone", "600000000"),
                              "customer.phone", "must match"),
    "NUL in a name": (PriceOrder, PRICE_ORDER, _set("customer.name", "Ada\x00"), "customer.name",
                      "NUL"),
    "lead time too long": (CommitOrder, COMMIT_ORDER, _set("fireOrderInSeconds", 100_001),
                           "fireOrderInSeconds", "must be at most 100000"),
    "lead time negative": (CommitOrder, COMMIT_ORDER, _set("fireOrderInSeconds", -1),
                           "fireOrderInSeconds", "must be at least 0"),
    "lead time missing": (CommitOrder, COMMIT_ORDER, _set("fireOrderInSeconds", ...),
                          "fireOrderInSeconds", "is required"),
    "lead time fractional": (CommitOrder, COMMIT_ORDER, _set("fireOrderInSeconds", 1.5),
                             "fireOrderInSeconds", "must be an integer"),
    "no payment method": (CommitOrder, COMMIT_ORDER, _set("paymentMethod", ...), "paymentMethod",
                          "is required"),
    "amount beyond 64 bits": (CommitOrder, COMMIT_ORDER, _set("charges.total.amount", 2**63),
                              "charges.total.amount", "must be at most 9223372036854775807"),
    "fractional amount": (CommitOrder, COMMIT_ORDER, _set("charges.tax.amount", 1.45),
                          "charges.tax.amount", "must be an integer"),
    "lowercase currency": (CommitOrder, COMMIT_ORDER, _set("charges.tax.currency", "eur"),
                           "charges.tax.currency", "must match ^[A-Z]{3}$"),
    "unknown fee": (CommitOrder, COMMIT_ORDER, _set("charges.fees[0].type", "TIP_FEE"),
                    "charges.fees[0].type", "must be one of"),
    "priced without a cart": (PRICE_CALLBACK, PRICED, _set("cart", ...), "cart", "is required"),
    "priced without a total": (PRICE_CALLBACK, PRICED, _set("charges.total", ...),
                               "charges.total", "is required"),
    "priced with errors": (PRICE_CALLBACK, PRICED,
                           _set("partnerErrors", [{"code": "MENU", "message": "x"}]),
                           "partnerErrors", "must be empty"),
    "price callback says DONE": (PRICE_CALLBACK, PRICED, _set("status", "DONE"), "status",
                                 "must be one of 'PRICED', 'ERROR'"),
    "unknown error code": (PRICE_CALLBACK, "rbi_pos_callback_error.json",
                           _set("errors[0].code", "KITCHEN"), "errors[0].code", "must be one of"),
    "event status unknown": (pos_wire.OrderEvent, "rbi_pos_order_event.json",
                             _set("status", "COOKING"), "status", "must be one of"),
    "event status PRICED": (pos_wire.OrderEvent, "rbi_pos_order_event.json",
                            _set("status", "PRICED"), "status", "must be one of"),
    "webhook callback not a URL": (pos_wire.PriceWebhook, "rbi_pos_price_webhook.json",
                                   _set("callbackUrl", "hub.example/callback"), "callbackUrl",
                                   "must match"),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_refused_naming_the_field(case: str) -> None:
    model, name, mutate, location, message = CASES[case]
    body = copy.deepcopy(fixture(name))
    mutate(body)
    got_location, got_message = refusal(model, body)
    assert got_location == location
    assert message in got_message


def test_a_null_lead_time_holds_the_order() -> None:
    body = fixture(COMMIT_ORDER) | {"fireOrderInSeconds": None}
    assert CommitOrder.model_validate(body).fireOrderInSeconds is None


def test_unknown_fields_are_ignored() -> None:
    body = fixture(PRICE_ORDER) | {"tipJar": True}
    body["cart"]["menuSelections"][1]["colour"] = "red"
    order = PriceOrder.model_validate(body)
    dumped = order.model_dump(mode="json", exclude_unset=True)
    assert "tipJar" not in dumped
    assert "colour" not in dumped["cart"]["menuSelections"][1]


def test_an_error_callback_reads_both_spellings_of_its_errors() -> None:
    body = {
        "status": "ERROR",
        "errors": [{"code": "MENU", "message": "PLU-SUNDAE unavailable"}],
        "partnerErrors": [{"code": "STORE", "message": "closed"}],
    }
    answer = PRICE_CALLBACK.validate_python(body)
    assert isinstance(answer, pos_wire.PriceFailed)
    assert [e.code for e in (*answer.errors, *answer.partnerErrors)] == ["MENU", "STORE"]


def test_a_naive_time_is_refused() -> None:
    body = {"storeStatus": "INACTIVE", "region": "ES", "updatedAt": "2026-12-03T19:30:00"}
    assert refusal(StoreStatusChanged, body)[0] == "updatedAt"


def test_a_channel_event_of_an_unknown_type_is_refused() -> None:
    body = {"eventType": "TABLE_UPDATED", "eventTime": "2026-12-03T19:30:00Z"}
    assert refusal(TypeAdapter(ChannelEvent), body) == (
        "eventType",
        "must be one of 'ORDER_UPDATED', 'STORE_UPDATED', 'MENU_UPDATED'",
    )


def test_the_error_body_repeats_the_first_entry() -> None:
    body = fixture(COMMIT_ORDER) | {"fireOrderInSeconds": -5, "paymentMethod": "IOU"}
    with pytest.raises(ValidationError) as caught:
        CommitOrder.model_validate(body)
    answer = validation_body(caught.value)
    assert answer.status == 400
    assert answer.code == "ValidationError"
    assert answer.message == f"{answer.errors[0].location} {answer.errors[0].message}"
    assert {e.location for e in answer.errors} == {"paymentMethod", "fireOrderInSeconds"}
    assert all(e.locationType == "requestBody" for e in answer.errors)
