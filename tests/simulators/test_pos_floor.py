"""The POS simulator's floor actions and the notifications it sends maitred (contracts.md §1.7)."""

from __future__ import annotations

from typing import Any

from tests.simulators.support import HUB_KEY, Client, FakeHub, call

BASE = "/v1/pos/pos-venue-1/order"


async def walk_in(pos: Client, **extra: Any) -> dict[str, Any]:
    status, answer = await call(
        pos, "POST", "/_sim/walk-in", {"tables": ["T3"], "partySize": 2} | extra
    )
    assert status == 200, answer
    assert isinstance(answer, dict)
    return answer


async def add(pos: Client, order_id: str, *items: tuple[str, int]) -> dict[str, Any]:
    body = {"items": [{"sku": sku, "quantity": qty} for sku, qty in items]}
    status, answer = await call(pos, "POST", f"/_sim/orders/{order_id}/items", body)
    assert status == 200, answer
    assert isinstance(answer, dict)
    return answer


async def test_walk_in_posts_the_order_to_maitred(pos: Client, hub: FakeHub) -> None:
    answer = await walk_in(pos)
    sent = hub.received[0]
    assert (sent.method, sent.path) == ("POST", BASE)
    assert sent.authorization == f"Bearer {HUB_KEY}"
    assert sent.body == {
        "id": answer["order"]["id"],
        "status": "open",
        "tables": ["T3"],
        "partySize": 2,
        "checks": [
            {
                "checkNumber": answer["order"]["checks"][0]["checkNumber"],
                "status": "open",
                "totalAmount": 0.0,
                "tax": 0.0,
                "tip": 0.0,
                "discount": 0.0,
                "paymentMethod": None,
                "items": [],
            }
        ],
        "updatedAt": answer["order"]["updatedAt"],
    }


async def test_walk_in_remembers_maitreds_id(pos: Client, hub: FakeHub) -> None:
    answer = await walk_in(pos)
    assert answer["hub"] == {"status": 200, "body": {"id": "hub-1", "status": "open"}}
    assert answer["order"]["hubId"] == "hub-1"


async def test_changes_after_a_walk_in_are_put_on_maitreds_id(pos: Client, hub: FakeHub) -> None:
    order = (await walk_in(pos))["order"]
    answer = await add(pos, order["id"], ("STEAK", 2), ("WINE-012", 1))
    assert hub.paths()[-1] == f"PUT {BASE}/hub-1"
    check = hub.received[-1].body["checks"][0]
    assert check["items"] == [
        {"id": 105, "name": "Steak", "price": 40.0, "quantity": 2},
        {"id": 102, "name": "House red", "price": 24.0, "quantity": 1},
    ]
    assert check["totalAmount"] == 104.0
    assert check["tax"] == 10.4
    assert answer["order"]["updatedAt"] > order["updatedAt"]


async def test_changes_to_a_maitred_order_use_the_pos_id_without_a_post(
    pos: Client, hub: FakeHub
) -> None:
    status, created = await call(pos, "POST", "/venue/pos-venue-1/orders", {"tables": ["T5"]})
    assert status == 201
    await add(pos, created["id"], ("WATER", 1))
    assert hub.paths() == [f"PUT {BASE}/{created['id']}"]


async def test_split_makes_two_checks(pos: Client, hub: FakeHub) -> None:
    order = (await walk_in(pos))["order"]
    await add(pos, order["id"], ("STEAK", 2), ("WINE-012", 1), ("WATER", 1))
    status, answer = await call(pos, "POST", f"/_sim/orders/{order['id']}/split", {"parts": 2})
    assert status == 200
    checks = hub.received[-1].body["checks"]
    assert len(checks) == 2
    assert checks[0]["checkNumber"] == order["checks"][0]["checkNumber"]
    assert checks[1]["checkNumber"] != checks[0]["checkNumber"]
    assert sum(c["totalAmount"] for c in checks) == 107.0
    assert answer["order"]["checks"] == checks


async def test_closing_one_of_two_checks_is_an_update(pos: Client, hub: FakeHub) -> None:
    order = (await walk_in(pos))["order"]
    await add(pos, order["id"], ("STEAK", 2))
    _, split = await call(pos, "POST", f"/_sim/orders/{order['id']}/split", {"parts": 2})
    number = split["order"]["checks"][0]["checkNumber"]
    path = f"/_sim/orders/{order['id']}/checks/{number}/close"
    _, answer = await call(pos, "POST", path, {"paymentMethod": "cash", "tip": 5})
    assert hub.paths()[-1] == f"PUT {BASE}/hub-1"
    assert answer["order"]["status"] == "open"
    assert [c["status"] for c in hub.received[-1].body["checks"]] == ["closed", "open"]
    assert hub.received[-1].body["checks"][0]["totalAmount"] == 45.0


async def test_closing_the_order_puts_close(pos: Client, hub: FakeHub) -> None:
    order = (await walk_in(pos))["order"]
    await add(pos, order["id"], ("PIZZA-001", 2))
    body = {"paymentMethod": "card", "tip": 5, "discount": 2}
    _, answer = await call(pos, "POST", f"/_sim/orders/{order['id']}/close", body)
    sent = hub.received[-1]
    assert (sent.method, sent.path) == ("PUT", f"{BASE}/hub-1/close")
    assert sent.body["status"] == "closed"
    assert sent.body["checks"][0] | {"items": []} == {
        "checkNumber": order["checks"][0]["checkNumber"],
        "status": "closed",
        "totalAmount": 28.0,
        "tax": 2.5,
        "tip": 5.0,
        "discount": 2.0,
        "paymentMethod": "card",
        "items": [],
    }
    assert answer["hub"]["body"]["status"] == "closed"


async def test_closing_the_last_open_check_closes_the_order(pos: Client, hub: FakeHub) -> None:
    order = (await walk_in(pos))["order"]
    number = order["checks"][0]["checkNumber"]
    await call(pos, "POST", f"/_sim/orders/{order['id']}/checks/{number}/close", {})
    assert hub.paths()[-1] == f"PUT {BASE}/hub-1/close"


async def test_voiding_the_order_puts_void(pos: Client, hub: FakeHub) -> None:
    order = (await walk_in(pos))["order"]
    await add(pos, order["id"], ("BEER", 3))
    _, answer = await call(pos, "POST", f"/_sim/orders/{order['id']}/void")
    sent = hub.received[-1]
    assert (sent.method, sent.path) == ("PUT", f"{BASE}/hub-1/void")
    assert [c["status"] for c in sent.body["checks"]] == ["void"]
    assert answer["order"]["voidedAt"] is not None


async def test_voiding_one_check_is_an_update(pos: Client, hub: FakeHub) -> None:
    order = (await walk_in(pos))["order"]
    await add(pos, order["id"], ("BEER", 2))
    _, split = await call(pos, "POST", f"/_sim/orders/{order['id']}/split", {"parts": 2})
    number = split["order"]["checks"][1]["checkNumber"]
    await call(pos, "POST", f"/_sim/orders/{order['id']}/checks/{number}/void")
    assert hub.paths()[-1] == f"PUT {BASE}/hub-1"
    assert [c["status"] for c in hub.received[-1].body["checks"]] == ["open", "void"]


async def test_move_sends_the_new_tables(pos: Client, hub: FakeHub) -> None:
    order = (await walk_in(pos))["order"]
    await call(pos, "POST", f"/_sim/orders/{order['id']}/move", {"tables": ["T9", "T10"]})
    assert hub.received[-1].body["tables"] == ["T9", "T10"]


async def test_closed_order_cannot_change(pos: Client) -> None:
    order = (await walk_in(pos))["order"]
    await call(pos, "POST", f"/_sim/orders/{order['id']}/close", {})
    status, answer = await call(pos, "POST", f"/_sim/orders/{order['id']}/items", {"items": []})
    assert status == 409
    assert answer["error"]["code"] == 409


async def test_closed_orders_stay_retrievable(pos: Client) -> None:
    order = (await walk_in(pos))["order"]
    await call(pos, "POST", f"/_sim/orders/{order['id']}/close", {})
    status, found = await call(pos, "GET", f"/venue/pos-venue-1/orders/{order['id']}")
    assert status == 200
    assert found["status"] == "closed"


async def test_state_lists_every_order(pos: Client) -> None:
    await walk_in(pos)
    await walk_in(pos, tables=["T4"])
    _, state = await call(pos, "GET", "/_sim/state")
    assert [o["tables"] for o in state["orders"]] == [["T3"], ["T4"]]
    assert len(state["menu"]) >= 6


async def test_maitred_unreachable_is_reported_not_raised(pos: Client, hub: FakeHub) -> None:
    hub.status = 503
    answer = await walk_in(pos)
    assert answer["hub"]["status"] == 503
    assert answer["order"]["hubId"] is None
