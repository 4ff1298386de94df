"""The POS simulator's partner API, as maitred calls it (contracts.md §1.6)."""

from __future__ import annotations

from decimal import Decimal

from tests.simulators.support import Client, FakeHub, call, fixture

VENUE = "/venue/pos-venue-1"


async def create(pos: Client, **extra: object) -> dict[str, object]:
    body = fixture("pos_create_order_request.json") | extra
    status, answer = await call(pos, "POST", f"{VENUE}/orders", body)
    assert status == 201, answer
    assert isinstance(answer, dict)
    return answer


async def test_tables_lists_the_default_floor(pos: Client) -> None:
    status, tables = await call(pos, "GET", f"{VENUE}/tables")
    assert status == 200
    assert len(tables) == 12
    assert tables[0] == {"id": "T1", "name": "Table 1", "area": "Dining room"}
    assert tables[11] == {"id": "T12", "name": "Table 12", "area": "Terrace"}


async def test_other_venue_is_not_found(pos: Client) -> None:
    status, answer = await call(pos, "GET", "/venue/someone-else/tables")
    assert status == 404
    assert answer["error"]["code"] == 404


async def test_wrong_token_is_401_with_the_error_body(pos: Client) -> None:
    status, answer = await call(pos, "GET", f"{VENUE}/tables", token="nope")
    assert status == 401
    assert answer == {
        "error": {"code": 401, "message": "Missing or invalid API key", "details": {}}
    }
    _, calls = await call(pos, "GET", "/_sim/calls")
    assert calls[-1]["authorized"] is False
    assert calls[-1]["status"] == 401


async def test_create_from_the_fixture_opens_an_order(pos: Client) -> None:
    answer = await create(pos)
    assert set(answer) == {"id", "checkNumber"}
    status, order = await call(pos, "GET", f"{VENUE}/orders/{answer['id']}")
    assert status == 200
    assert order["hubId"] == "fd30c18b-71fb-43f7-b895-34ab0b9ceced"
    assert order["tables"] == ["T12"]
    assert order["partySize"] == 4
    assert order["guestName"] == "John Doe"
    assert order["prepayment"] == 50.0
    assert order["date"] == "2025-02-15 14:30:00"
    assert order["status"] == "open"
    assert order["checks"][0]["checkNumber"] == answer["checkNumber"]


async def test_create_does_not_notify_maitred(pos: Client, hub: FakeHub) -> None:
    await create(pos)
    assert hub.received == []


async def test_order_is_found_by_maitreds_id(pos: Client) -> None:
    answer = await create(pos)
    status, order = await call(pos, "GET", f"{VENUE}/orders/fd30c18b-71fb-43f7-b895-34ab0b9ceced")
    assert status == 200
    assert order["id"] == answer["id"]


async def test_unknown_order_is_404(pos: Client) -> None:
    status, answer = await call(pos, "GET", f"{VENUE}/orders/nope")
    assert status == 404
    assert answer["error"]["message"] == "Order nope not found"


async def test_creates_are_not_deduplicated(pos: Client) -> None:
    first, second = await create(pos), await create(pos)
    assert first["id"] != second["id"]
    assert first["checkNumber"] != second["checkNumber"]


async def test_preordered_items_become_lines_with_tax(pos: Client) -> None:
    items = [{"sku": "PIZZA-001", "quantity": 2}, {"sku": "WINE-012", "quantity": 1}]
    answer = await create(pos, items=items)
    _, order = await call(pos, "GET", f"{VENUE}/orders/{answer['id']}")
    check = order["checks"][0]
    assert check["items"] == [
        {"id": 101, "name": "Margherita", "price": 12.5, "quantity": 2},
        {"id": 102, "name": "House red", "price": 24.0, "quantity": 1},
    ]
    assert Decimal(str(check["totalAmount"])) == Decimal("49.00")
    assert Decimal(str(check["tax"])) == Decimal("4.90")


async def test_unknown_sku_is_422_and_creates_nothing(pos: Client) -> None:
    body = fixture("pos_create_order_request.json") | {
        "items": [{"sku": "PIZZA-001", "quantity": 1}, {"sku": "CAVIAR", "quantity": 1}]
    }
    status, answer = await call(pos, "POST", f"{VENUE}/orders", body)
    assert status == 422
    assert answer == {
        "error": {
            "code": 422,
            "message": "Unknown SKU(s)",
            "details": {"items": [{"sku": ["Unknown SKU: CAVIAR"]}]},
        }
    }
    _, orders = await call(pos, "GET", f"{VENUE}/orders")
    assert orders == []


async def test_missing_tables_is_400(pos: Client) -> None:
    body = fixture("pos_create_order_request.json")
    del body["tables"]
    status, answer = await call(pos, "POST", f"{VENUE}/orders", body)
    assert status == 400
    assert "tables" in answer["error"]["details"]


async def test_deprecated_table_id_is_accepted(pos: Client) -> None:
    body = {"tableId": "T3", "partySize": 2}
    status, answer = await call(pos, "POST", f"{VENUE}/orders", body)
    assert status == 201
    _, order = await call(pos, "GET", f"{VENUE}/orders/{answer['id']}")
    assert order["tables"] == ["T3"]


async def test_unknown_table_is_400(pos: Client) -> None:
    body = {"tables": ["28c3ce8b-8c10-4a64-8099-f0dffcc549a8"]}
    status, answer = await call(pos, "POST", f"{VENUE}/orders", body)
    assert status == 400
    assert answer["error"]["message"] == "Unknown table(s)"


async def test_occupied_table_still_opens_an_order(pos: Client) -> None:
    await create(pos)
    await create(pos, id=None)
    _, orders = await call(pos, "GET", f"{VENUE}/orders?status=open")
    assert [o["tables"] for o in orders] == [["T12"], ["T12"]]


async def test_list_filters_on_status(pos: Client) -> None:
    first = await create(pos)
    await create(pos, id=None)
    await call(pos, "POST", f"/_sim/orders/{first['id']}/close", {"paymentMethod": "cash"})
    _, closed = await call(pos, "GET", f"{VENUE}/orders?status=closed")
    _, open_ = await call(pos, "GET", f"{VENUE}/orders?status=open")
    assert [o["id"] for o in closed] == [first["id"]]
    assert len(open_) == 1
    assert closed[0]["closedAt"] is not None


async def test_list_filters_on_a_time_window(pos: Client) -> None:
    answer = await create(pos)
    _, order = await call(pos, "GET", f"{VENUE}/orders/{answer['id']}")
    stamp = order["updatedAt"]
    _, inside = await call(pos, "GET", f"{VENUE}/orders?from={stamp}&until={stamp}")
    _, after = await call(pos, "GET", f"{VENUE}/orders?from=2999-01-01T00:00:00Z")
    assert [o["id"] for o in inside] == [answer["id"]]
    assert after == []


async def test_bad_list_filter_is_400(pos: Client) -> None:
    status, _ = await call(pos, "GET", f"{VENUE}/orders?status=paid")
    assert status == 400


async def test_update_moves_tables_and_replaces_preorders(pos: Client) -> None:
    answer = await create(pos, items=[{"sku": "MENU-DEGUST", "quantity": 4}])
    await call(
        pos,
        "POST",
        f"/_sim/orders/{answer['id']}/items",
        {"items": [{"sku": "WATER", "quantity": 2}]},
    )
    body = {
        "tables": ["T1", "T2"],
        "partySize": 6,
        "items": [{"sku": "MENU-DEGUST", "quantity": 6}],
    }
    status, order = await call(pos, "PUT", f"{VENUE}/orders/{answer['id']}", body)
    assert status == 200
    assert order["tables"] == ["T1", "T2"]
    assert order["partySize"] == 6
    assert [(i["name"], i["quantity"]) for i in order["checks"][0]["items"]] == [
        ("Still water", 2),
        ("Tasting menu", 6),
    ]


async def test_update_with_unknown_sku_changes_nothing(pos: Client) -> None:
    answer = await create(pos)
    body = {"tables": ["T1"], "items": [{"sku": "NOPE", "quantity": 1}]}
    status, _ = await call(pos, "PUT", f"{VENUE}/orders/{answer['id']}", body)
    _, order = await call(pos, "GET", f"{VENUE}/orders/{answer['id']}")
    assert status == 422
    assert order["tables"] == ["T12"]


async def test_update_of_a_closed_order_is_409(pos: Client) -> None:
    answer = await create(pos)
    await call(pos, "POST", f"/_sim/orders/{answer['id']}/close", {})
    status, _ = await call(pos, "PUT", f"{VENUE}/orders/{answer['id']}", {"partySize": 2})
    assert status == 409


async def test_update_unsupported_answers_405(pos: Client) -> None:
    answer = await create(pos)
    await call(pos, "POST", "/_sim/faults", {"update_unsupported": True})
    status, body = await call(pos, "PUT", f"{VENUE}/orders/{answer['id']}", {"partySize": 2})
    assert status == 405
    assert body["error"]["code"] == 405


async def test_calls_are_recorded(pos: Client) -> None:
    await call(pos, "GET", f"{VENUE}/tables")
    _, calls = await call(pos, "GET", "/_sim/calls")
    assert calls == [
        {
            "method": "GET",
            "path": f"{VENUE}/tables",
            "body": None,
            "authorized": True,
            "at": calls[0]["at"],
            "status": 200,
        }
    ]
