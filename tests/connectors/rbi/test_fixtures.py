"""Every RBI fixture parses verbatim into its wire model and comes back out unchanged, and the
priced examples pass the money checks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from maitred.channel_orders.money import check_priced
from maitred.connectors.rbi import mapping, pos_wire
from maitred.connectors.rbi.channel_wire import CommitOrder, OrderAnswer, PriceOrder
from maitred.connectors.rbi.errors import ErrorBody, validation_body
from tests.connectors.rbi.support import fixture, raw, rbi_fixtures

PRICE = TypeAdapter(pos_wire.PriceCallback)
COMMIT = TypeAdapter(pos_wire.CommitCallback)
FIRE = TypeAdapter(pos_wire.FireCallback)

MODELS: dict[str, list[type[BaseModel] | TypeAdapter[Any]]] = {
    "rbi_channel_commit_order_request.json": [CommitOrder],
    "rbi_channel_order_priced_response.json": [OrderAnswer],
    "rbi_channel_price_order_request.json": [PriceOrder],
    "rbi_error_body.json": [ErrorBody],
    "rbi_pos_callback_error.json": [PRICE, COMMIT, FIRE],
    "rbi_pos_order_event.json": [pos_wire.OrderEvent],
    "rbi_pos_price_callback_priced.json": [PRICE],
    "rbi_pos_price_webhook.json": [pos_wire.PriceWebhook],
}


def test_every_rbi_fixture_has_its_model() -> None:
    assert rbi_fixtures() == sorted(MODELS)


def _round_trip(model: type[BaseModel] | TypeAdapter[Any], data: bytes) -> Any:
    if isinstance(model, TypeAdapter):
        parsed = model.validate_json(data)
        return model.dump_python(parsed, mode="json", exclude_unset=True)
    return model.model_validate_json(data).model_dump(mode="json", exclude_unset=True)


@pytest.mark.parametrize(
    ("name", "model"), [(name, model) for name, models in MODELS.items() for model in models]
)
def test_fixture_parses_verbatim_and_round_trips(
    name: str, model: type[BaseModel] | TypeAdapter[Any]
) -> None:
    assert _round_trip(model, raw(name)) == fixture(name)


def test_the_price_webhook_cart_round_trips_through_the_domain() -> None:
    webhook = pos_wire.PriceWebhook.model_validate_json(raw("rbi_pos_price_webhook.json"))
    lines = mapping.cart_lines(webhook.cart.menuSelections)
    back = [s.model_dump(mode="json", exclude_unset=True) for s in mapping.selections(lines)]
    assert back == fixture("rbi_pos_price_webhook.json")["cart"]["menuSelections"]


def test_the_price_request_cart_round_trips_through_the_domain() -> None:
    order = PriceOrder.model_validate_json(raw("rbi_channel_price_order_request.json"))
    lines = mapping.cart_lines(order.cart.menuSelections)
    assert [line.plu for line in lines[0].walk()] == [
        "PLU-COMBO-WHOPPER",
        "PLU-WHOPPER",
        "PLU-NO-ONION",
        "PLU-FRIES-M",
        "PLU-COKE-M",
    ]
    back = [s.model_dump(mode="json", exclude_unset=True) for s in mapping.selections(lines)]
    assert back == fixture("rbi_channel_price_order_request.json")["cart"]["menuSelections"]


def test_the_priced_callback_is_consistent_with_the_webhook_it_answers() -> None:
    answer = PRICE.validate_json(raw("rbi_pos_price_callback_priced.json"))
    assert isinstance(answer, pos_wire.Priced)
    webhook = pos_wire.PriceWebhook.model_validate_json(raw("rbi_pos_price_webhook.json"))
    asked = mapping.cart_lines(webhook.cart.menuSelections)
    assert check_priced(mapping.priced_cart(answer), currency="EUR", requested=asked) == ()


def test_the_priced_order_the_channel_reads_is_consistent() -> None:
    order = OrderAnswer.model_validate_json(raw("rbi_channel_order_priced_response.json")).data
    assert order.charges.subTotal is not None
    assert order.charges.tax is not None
    assert order.charges.total is not None
    answer = pos_wire.Priced(status="PRICED", cart=order.cart, charges=order.charges.model_dump())
    priced = mapping.priced_cart(answer)
    assert check_priced(priced, currency="EUR") == ()
    assert priced.feedback[0].price is not None


def test_the_priced_cart_round_trips_through_the_domain() -> None:
    order = OrderAnswer.model_validate_json(raw("rbi_channel_order_priced_response.json")).data
    answer = pos_wire.Priced(status="PRICED", cart=order.cart, charges=order.charges.model_dump())
    cart = mapping.cart_priced_wire(mapping.priced_cart(answer))
    expected = fixture("rbi_channel_order_priced_response.json")["data"]["cart"]
    assert cart.model_dump(mode="json", exclude_none=True) == expected


def test_an_empty_cart_is_refused_with_the_contracts_error_body() -> None:
    body = fixture("rbi_channel_price_order_request.json")
    body["cart"]["menuSelections"] = []
    with pytest.raises(ValidationError) as caught:
        PriceOrder.model_validate(body)
    answer = validation_body(caught.value).model_dump(mode="json", exclude_none=True)
    assert answer == fixture("rbi_error_body.json")
