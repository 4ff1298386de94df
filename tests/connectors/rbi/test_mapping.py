"""RBI wire ⇄ domain: each value maps both ways, and each body becomes the right report."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from maitred.channel_orders.rules import ChannelOrderStatus, Leg, Source
from maitred.channel_orders.types import Money, PartnerError, PartnerErrorCode
from maitred.connectors.rbi import mapping, pos_wire
from maitred.connectors.rbi import types as wire
from maitred.connectors.rbi.channel_wire import CommitOrder
from tests.connectors.rbi.support import fixture

CALLBACKS: TypeAdapter[pos_wire.Callback] = TypeAdapter(pos_wire.Callback)


def test_money_maps_both_ways() -> None:
    value = wire.Money(currency="EUR", amount=1592)
    assert mapping.money(value) == Money(1592, "EUR")
    assert mapping.money_wire(Money(1592, "EUR")) == value


@pytest.mark.parametrize("status", list(ChannelOrderStatus))
def test_every_status_maps_both_ways(status: ChannelOrderStatus) -> None:
    assert mapping.status(mapping.status_wire(status)) is status


def test_every_wire_status_is_a_domain_status() -> None:
    wire_statuses = set(TypeAdapter(wire.OrderStatus).json_schema()["enum"])
    assert wire_statuses == set(mapping.STATUSES)


def test_every_partner_error_code_maps_both_ways() -> None:
    errors = [PartnerError(code, f"because {code}") for code in PartnerErrorCode]
    back = mapping.partner_errors(
        pos_wire.PriceFailed(status="ERROR", partnerErrors=mapping.errors_wire(errors))
    )
    assert list(back) == errors


def test_both_spellings_of_the_errors_are_read() -> None:
    body = pos_wire.OrderEvent.model_validate(
        {
            "status": "ERROR",
            "errors": [{"code": "MENU", "message": "old word"}],
            "partnerErrors": [{"code": "TIMEOUT", "message": "new word"}],
        }
    )
    report = mapping.event_report(body)
    assert [e.code for e in report.errors] == [PartnerErrorCode.MENU, PartnerErrorCode.TIMEOUT]


@pytest.mark.parametrize(
    ("body", "leg", "status"),
    [
        ({"status": "PRICED"} | fixture("rbi_pos_price_callback_priced.json"), Leg.PRICE, "PRICED"),
        ({"status": "COMMITTED"}, Leg.COMMIT, "COMMITTED"),
        ({"status": "PREPARING"}, Leg.FIRE, "PREPARING"),
    ],
)
def test_a_success_callback_is_a_report_of_its_leg(
    body: dict[str, object], leg: Leg, status: str
) -> None:
    report = mapping.callback_report(CALLBACKS.validate_python(body))
    assert (report.source, report.leg, report.status) == (
        Source.CALLBACK,
        leg,
        mapping.status(status),
    )
    assert report.errors == ()


@pytest.mark.parametrize(
    ("adapter", "leg"),
    [
        (TypeAdapter(pos_wire.PriceCallback), Leg.PRICE),
        (TypeAdapter(pos_wire.CommitCallback), Leg.COMMIT),
        (TypeAdapter(pos_wire.FireCallback), Leg.FIRE),
    ],
)
def test_an_error_callback_is_an_error_report_of_its_leg(
    adapter: TypeAdapter[pos_wire.Callback], leg: Leg
) -> None:
    body = adapter.validate_python(fixture("rbi_pos_callback_error.json"))
    report = mapping.callback_report(body)
    assert (report.leg, report.status) == (leg, ChannelOrderStatus.ERROR)
    assert report.errors == (PartnerError(PartnerErrorCode.MENU, "PLU-SUNDAE unavailable"),)


def test_an_event_is_an_event_report() -> None:
    body = pos_wire.OrderEvent.model_validate(fixture("rbi_pos_order_event.json"))
    report = mapping.event_report(body)
    assert (report.source, report.status) == (Source.ORDER_EVENT, ChannelOrderStatus.PREPARED)


def test_a_commit_is_a_commit_request_with_its_lead_time() -> None:
    body = CommitOrder.model_validate(fixture("rbi_channel_commit_order_request.json"))
    report = mapping.commit_report(body)
    assert (report.source, report.lead_time) == (Source.COMMIT_REQUEST, 900)


def test_charges_map_both_ways() -> None:
    body = fixture("rbi_channel_commit_order_request.json")["charges"]
    charges = mapping.charges(wire.PricedCharges.model_validate(body))
    assert [(f.kind, f.total.amount) for f in charges.fees] == [("BAG_FEE", 10)]
    assert mapping.charges_wire(charges).model_dump(mode="json", exclude_none=True) == body
