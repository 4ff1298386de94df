"""The RMS hears about every check: split, close, void, and never an older state."""

from __future__ import annotations

from maitred.demo.stack import Stack, wait_for


def _walk_in(stack: Stack, table: str) -> tuple[str, str]:
    answer = stack.pos_do("/walk-in", {"tables": [table], "partySize": 4})
    order = answer["order"]
    stack.pos_do(
        f"/orders/{order['id']}/items",
        {"items": [{"sku": "STEAK", "quantity": 2}, {"sku": "WATER", "quantity": 2}]},
    )
    return order["id"], order["checks"][0]["checkNumber"]


def test_two_checks_on_one_booking_give_two_event_streams(stack: Stack) -> None:
    stack.book(bookingId="split-1", partySize=4, status="seated", tables=["006"])
    order = stack.order_on("T6")
    first = order["checks"][0]["checkNumber"]
    stack.events_for(first, 1)
    stack.pos_do(f"/orders/{order['id']}/items", {"items": [{"sku": "STEAK", "quantity": 2}]})
    split = stack.pos_do(f"/orders/{order['id']}/split", {"parts": 2})
    second = next(c["checkNumber"] for c in split["order"]["checks"] if c["checkNumber"] != first)
    [created] = stack.events_for(second, 1)
    assert (created["body"]["type"], created["body"]["bookingId"]) == ("create", "split-1")
    first_events = stack.events_for(first, 3)
    assert [e["body"]["type"] for e in first_events] == ["create", "update", "update"]
    assert all(e["problems"] == [] for e in [*first_events, created])


def test_closing_sends_close_with_the_bill(stack: Stack) -> None:
    order_id, check = _walk_in(stack, "T7")
    stack.pos_do(f"/orders/{order_id}/close", {"paymentMethod": "visa", "tip": 5})
    events = wait_for(
        "a CLOSE event",
        lambda: (e := stack.rms_events(check)) and e[-1]["body"]["status"] == "CLOSE" and e,
    )
    last = events[-1]["body"]
    assert last["type"] == "update"
    assert last["closedAt"] is not None
    assert last["commercials"]["paymentType"] == "credit_card"
    assert last["commercials"]["tip"] == 5.0
    assert last["commercials"]["totalAmount"] > 0
    assert {i["name"] for i in last["items"]} == {"Steak", "Still water"}
    assert all(e["problems"] == [] for e in events)


def test_a_voided_check_sends_void(stack: Stack) -> None:
    order_id, check = _walk_in(stack, "T8")
    stack.pos_do(f"/orders/{order_id}/void")
    events = wait_for(
        "a void event",
        lambda: (e := stack.rms_events(check)) and e[-1]["body"]["type"] == "void" and e,
    )
    assert events[-1]["body"]["status"] == "VOID"
    assert events[-1]["body"]["voidedAt"] is not None
    assert all(e["problems"] == [] for e in events)


def test_an_older_update_after_a_newer_one_changes_nothing(stack: Stack) -> None:
    order_id, check = _walk_in(stack, "T9")
    before = len(stack.events_for(check, 2))
    stack.faults("pos", reorder_sends=True)
    try:
        stack.pos_do(f"/orders/{order_id}/items", {"items": [{"sku": "BEER", "quantity": 1}]})
        stack.pos_do(f"/orders/{order_id}/items", {"items": [{"sku": "ESPRESSO", "quantity": 2}]})
    finally:
        stack.faults("pos")
    events = stack.events_for(check, before + 1)
    wait_for("the held update to be delivered", lambda: not stack.pos_state()["held"])
    final = stack.rms_events(check)
    names = {i["name"] for i in final[-1]["body"]["items"]}
    assert {"Draught beer", "Espresso"} <= names  # the newest state is what the RMS holds last
    assert all(e["problems"] == [] for e in final)
    assert len(events) >= before + 1
