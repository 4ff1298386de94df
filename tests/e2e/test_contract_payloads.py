"""The contract's example payloads, verbatim, through the running system. The RMS simulator
holds the examples' venue and table ids (its `contract` floor), so seed 001's bookings and the
POS examples go in unedited, and what comes out is compared with seed 000's pos_order event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from maitred.demo.stack import POS_VENUE, Stack, call
from tests.e2e.conftest import running_stack
from tests.factories import fixture

EXAMPLE_VENUE = "60e890aca5f07b6ee5b950b1"  # the examples' RMS venue id
COMMERCIALS = ("totalAmount", "tax", "tip", "discount", "paymentType")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The system with the RMS on the contract examples' venue and table ids."""
    with running_stack(
        request.param, tmp_path_factory, rms_venue=EXAMPLE_VENUE, rms_floor="contract"
    ) as running:
        yield running


def _as_the_example(body: dict[str, Any]) -> None:
    """Same fields as seed 000's event, spelled and typed the same."""
    example = fixture("rms_pos_order_event.json")
    assert body.keys() == example.keys()
    assert body["commercials"].keys() == example["commercials"].keys()
    for key, value in example.items():
        if value is not None and body[key] is not None:
            assert type(body[key]) is type(value), key


def test_the_seated_booking_example_opens_its_pos_order(stack: Stack) -> None:
    booking = fixture("rms_reservation_seated.json")

    status, answer = call("POST", stack.hub + "/rms", booking, stack.keys["rms_key"])

    assert status == 200, answer
    order = stack.order_on("T1")  # RMS table 001 (28c3ce8b-…) is the POS's T1
    assert order["partySize"] == 4
    assert order["guestName"] == "John Doe"
    assert order["date"] == "2021-12-15 15:30:00"  # 1639578600 in Europe/Madrid
    [create] = stack.events_for(order["checks"][0]["checkNumber"], 1)
    body = create["body"]
    _as_the_example(body)
    assert (body["type"], body["status"], body["venueId"]) == ("create", "OPEN", EXAMPLE_VENUE)
    assert (body["bookingId"], body["tables"]) == (booking["bookingId"], booking["tables"])
    assert body["commercials"]["prepayment"] == 50.0
    assert create["problems"] == []  # the RMS found its own venue and tables


def test_the_pos_examples_reach_the_rms_as_its_example_event(stack: Stack) -> None:
    opened, closed = fixture("pos_order_open.json"), fixture("pos_order_close.json")
    path = f"{stack.hub}/v1/pos/{POS_VENUE}/order"

    status, answer = call("POST", path, opened, stack.keys["pos_key"])

    assert status == 200, answer
    [create] = stack.events_for("98766", 1)
    body, example = create["body"], fixture("rms_pos_order_event.json")
    _as_the_example(body)
    same = ("type", "checkNumber", "partySize", "status", "items")
    assert {k: body[k] for k in same} == {k: example[k] for k in same}
    assert {k: body["commercials"][k] for k in COMMERCIALS} == {
        k: example["commercials"][k] for k in COMMERCIALS
    }
    assert (body["venueId"], body["bookingId"]) == (EXAMPLE_VENUE, None)  # a walk-in
    assert body["tables"] == [stack.rms_table("012")]  # the POS's T12, in the RMS's ids

    status, answer = call("PUT", f"{path}/{opened['id']}/close", closed, stack.keys["pos_key"])

    assert status == 200, answer
    events = stack.events_for("98766", 2)
    assert (events[1]["body"]["type"], events[1]["body"]["status"]) == ("update", "CLOSE")
    assert events[1]["body"]["closedAt"] is not None
    assert all(e["problems"] == [] for e in events)
