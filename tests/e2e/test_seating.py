"""Seating opens the right POS order; the booking's changes follow it (decisions 3 to 7, 9)."""

from __future__ import annotations

import concurrent.futures

from maitred.demo.stack import RMS_VENUE, VENUE, Stack, call, wait_for


def test_seating_opens_a_pos_order_on_the_translated_tables(stack: Stack) -> None:
    answer = stack.book(
        bookingId="seat-1",
        partySize=4,
        status="seated",
        tables=["001"],
        date=1790000000,  # 2026-09-21 14:13:20 UTC = 16:13:20 in Madrid
        prepayment=50.0,
        contact={"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com"},
    )
    assert answer["hub"]["status"] == 200
    order = stack.order_on("T1")
    assert order["tables"] == ["T1"]  # POS ids, never the RMS's uuids
    assert order["partySize"] == 4
    assert order["guestName"] == "Ada Lovelace"
    assert order["date"] == "2026-09-21 16:13:20"  # decision 5: venue-local Y-m-d H:i:s
    [create] = stack.events_for(order["checks"][0]["checkNumber"], 1)
    body = create["body"]
    assert (body["type"], body["status"], body["bookingId"]) == ("create", "OPEN", "seat-1")
    assert body["venueId"] == RMS_VENUE
    assert body["tables"] == [stack.rms_table("001")]
    assert body["commercials"]["prepayment"] == 50.0
    assert create["problems"] == []
    assert create["signature"] == "valid"


def test_seating_links_to_an_order_already_open_on_the_table(stack: Stack) -> None:
    walk_in = stack.pos_do("/walk-in", {"tables": ["T2"], "partySize": 2})
    assert walk_in["hub"]["status"] == 200
    check = walk_in["order"]["checks"][0]["checkNumber"]
    [create] = stack.events_for(check, 1)
    assert (create["body"]["type"], create["body"]["bookingId"]) == ("create", None)

    stack.book(bookingId="link-1", partySize=2, status="seated", tables=["002"])
    events = stack.events_for(check, 2)
    assert (events[1]["body"]["type"], events[1]["body"]["bookingId"]) == ("update", "link-1")
    on_t2 = [o for o in stack.pos_orders() if "T2" in o["tables"]]
    assert len(on_t2) == 1  # linked, not opened again
    assert all(e["problems"] == [] for e in events)


def test_table_move_and_party_size_follow_the_booking(stack: Stack) -> None:
    stack.book(bookingId="move-1", partySize=2, status="seated", tables=["003"])
    order = stack.order_on("T3")
    stack.change_booking("move-1", tables=["004"], partySize=5)
    moved = wait_for(
        "the order to move",
        lambda: next(
            (o for o in stack.pos_orders() if o["id"] == order["id"] and o["tables"] == ["T4"]),
            None,
        ),
    )
    assert moved["partySize"] == 5
    puts = [c for c in stack.pos_calls() if c["method"] == "PUT" and order["id"] in c["path"]]
    assert puts
    assert all(c["authorized"] for c in puts)


def _lines(order: dict[str, object]) -> list[tuple[str, int]]:
    checks = order["checks"]
    assert isinstance(checks, list)
    return sorted((i["name"], i["quantity"]) for i in checks[0]["items"])


def test_pre_order_items_are_created_replaced_and_kept(stack: Stack) -> None:
    stack.book(
        bookingId="items-1",
        partySize=2,
        status="seated",
        tables=["005"],
        items=[{"sku": "PIZZA-001", "quantity": 2}, {"sku": "WINE-012", "quantity": 1}],
    )
    order = stack.order_on("T5")
    assert _lines(order) == [("House red", 1), ("Margherita", 2)]

    stack.change_booking("items-1", items=[{"sku": "MENU-DEGUST", "quantity": 2}])
    wait_for(
        "items replaced",
        lambda: _lines(_by_id(stack, order["id"])) == [("Tasting menu", 2)],
    )
    for omitted in ({"items": None, "partySize": 3}, {"items": [], "partySize": 4}):
        stack.change_booking("items-1", **omitted)
        party = omitted["partySize"]

        def settled(size: object = party) -> dict[str, object] | None:
            found = _by_id(stack, order["id"])
            return found if found["partySize"] == size else None

        current = wait_for(f"party of {party}", settled)
        assert _lines(current) == [("Tasting menu", 2)]  # spec: omitted or [] leaves items


def _by_id(stack: Stack, order_id: str) -> dict[str, object]:
    return next(o for o in stack.pos_orders() if o["id"] == order_id)


def test_unknown_sku_still_opens_the_table(stack: Stack) -> None:
    stack.book(
        bookingId="sku-1",
        partySize=2,
        status="seated",
        tables=["012"],
        items=[{"sku": "NO-SUCH-SKU", "quantity": 1}],
    )
    order = stack.order_on("T12")
    assert order["checks"][0]["items"] == []  # decision 9: opened again without the items
    status, flags = stack.admin("GET", "/admin/flags?kind=order.sku_rejected")
    assert status == 200
    assert any("NO-SUCH-SKU" in f["message"] for f in flags["items"])
    # The refused create was replaced by the one without items: no replay sends it again.
    status, failed = stack.admin("GET", "/admin/deliveries?state=failed")
    assert status == 200
    assert not [d for d in failed["items"] if d["kind"] == "pos.create_order"]


def test_duplicated_and_concurrent_webhooks_open_one_order(stack: Stack) -> None:
    stack.faults("rms", duplicate_sends=True)
    try:
        stack.book(bookingId="dup-1", partySize=2, status="seated", tables=["010"])
    finally:
        stack.faults("rms")
    booking = next(
        b for b in call("GET", stack.rms + "/_sim/bookings")[1] if b["bookingId"] == "dup-1"
    )
    same = {**booking, "tables": [stack.rms_table("011")], "bookingId": "dup-2"}

    def post() -> int:
        return call("POST", stack.hub + "/rms", same, stack.keys["rms_key"])[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: post(), range(20)))
    assert statuses == [200] * 20
    stack.order_on("T10")
    stack.order_on("T11")
    creates = [
        c for c in stack.pos_calls() if c["method"] == "POST" and c["path"].endswith("/orders")
    ]
    assert sum(1 for c in creates if c["body"]["tables"] == ["T10"]) == 1
    assert sum(1 for c in creates if c["body"]["tables"] == ["T11"]) == 1


def test_a_booking_held_for_an_unmapped_table_opens_its_order_once_mapped(stack: Stack) -> None:
    rms_009 = stack.rms_table("009")
    status, _ = stack.admin("DELETE", f"/admin/venues/{VENUE}/table-mappings/{rms_009}")
    assert status == 200
    stack.book(bookingId="held-1", partySize=2, status="seated", tables=["009"])
    held = wait_for(
        "the booking held",
        lambda: stack.admin("GET", "/admin/flags?kind=booking.held")[1]["items"],
    )
    assert [f["subject"] for f in held] == ["booking:held-1"]
    assert not any("T9" in o["tables"] for o in stack.pos_orders())

    status, _ = stack.admin(
        "PUT", f"/admin/venues/{VENUE}/table-mappings/{rms_009}", {"posTableId": "T9"}
    )
    assert status == 200

    order = stack.order_on("T9")  # with no re-send from the RMS
    assert order["partySize"] == 2
    assert stack.admin("GET", "/admin/flags?kind=booking.held")[1]["items"] == []
