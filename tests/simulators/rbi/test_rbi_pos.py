"""The RBI POS simulator as maitred meets it: webhooks acknowledged, answered on their callback
URL from its menu, progress and store status reported, faults on demand."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maitred.channel_orders.money import check_priced
from maitred.connectors.rbi import mapping, pos_wire, signature
from maitred.connectors.rbi.channel_wire import StoreStatusChanged
from maitred.simulators.rbi_pos import RBI_POS_KEY
from maitred.simulators.rbi_pos_state import RbiPosState
from tests.connectors.rbi.support import fixture
from tests.deliveries.helpers import wait_until
from tests.simulators.rbi.support import HUB_KEY, ORDER_ID, POS_TOKEN, SECRET, RbiHub
from tests.simulators.support import Client

PRICE_CALLBACK = f"/v1/orders/{ORDER_ID}/price/callback"
COMMIT_CALLBACK = f"/v1/orders/{ORDER_ID}/commit/callback"
FIRE_CALLBACK = f"/v1/orders/{ORDER_ID}/fire/callback"
EVENTS = f"/v1/orders/{ORDER_ID}/events"


async def send(
    pos: Client, path: str, body: Any, *, token: str = POS_TOKEN, secret: str | None = None
) -> tuple[int, Any]:
    """A webhook as maitred sends it (the exact bytes signed when `secret` is given)."""
    raw = json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if secret:
        headers[signature.HEADER] = signature.sign(raw, secret)
    async with pos.post(path, data=raw, headers=headers) as response:
        return response.status, await response.json()


async def control(pos: Client, method: str, path: str, body: Any = None) -> Any:
    async with pos.request(method, path, json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def price_webhook(hub: RbiHub, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(fixture("rbi_pos_price_webhook.json"))
    body["callbackUrl"] = f"{hub.url}{PRICE_CALLBACK}"
    return body | changes


def commit_webhook(hub: RbiHub, lead_time: int | None = 0) -> dict[str, Any]:
    return {
        "callbackUrl": f"{hub.url}{COMMIT_CALLBACK}",
        "id": ORDER_ID,
        "storeId": "pos-store-17",
        "payment": {"paymentMethod": "CREDIT_CARD"},
        "fireOrderInSeconds": lead_time,
    }


def fire_webhook(hub: RbiHub) -> dict[str, Any]:
    return {"callbackUrl": f"{hub.url}{FIRE_CALLBACK}", "id": ORDER_ID, "storeId": "pos-store-17"}


async def priced(pos: Client, hub: RbiHub) -> None:
    assert (await send(pos, "/webhooks/price-order", price_webhook(hub)))[0] == 200
    await hub.wait_for(PRICE_CALLBACK)


async def committed(pos: Client, hub: RbiHub, lead_time: int | None = 0) -> None:
    await priced(pos, hub)
    assert (await send(pos, "/webhooks/commit-order", commit_webhook(hub, lead_time)))[0] == 200
    await hub.wait_for(COMMIT_CALLBACK)


async def test_the_contracts_price_webhook_is_answered_with_the_contracts_callback(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    status, ack = await send(rbi_pos, "/webhooks/price-order", price_webhook(rbi_hub))
    assert (status, ack) == (200, {"id": ORDER_ID})
    [callback] = await rbi_hub.wait_for(PRICE_CALLBACK)
    assert callback.body == fixture("rbi_pos_price_callback_priced.json")
    assert callback.headers["authorization"] == f"Bearer {HUB_KEY}"


async def test_the_price_is_consistent_with_the_cart_asked_for(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    combo = fixture("rbi_channel_price_order_request.json")["cart"]
    webhook = price_webhook(rbi_hub, cart=combo, fees=[{"type": "BAG_FEE", "total": eur(10)}])
    await send(rbi_pos, "/webhooks/price-order", webhook)
    [callback] = await rbi_hub.wait_for(PRICE_CALLBACK)
    answer = pos_wire.Priced.model_validate(callback.body)
    asked = mapping.cart_lines(pos_wire.PriceWebhook.model_validate(webhook).cart.menuSelections)
    assert check_priced(mapping.priced_cart(answer), currency="EUR", requested=asked) == ()
    # the meal at 899, its items included, and two sundaes at 199
    assert [line.price.amount for line in answer.cart.menuSelections] == [899, 398]
    assert answer.charges.total.amount == 899 + 398 + 130 + 10


def eur(amount: int) -> dict[str, Any]:
    return {"currency": "EUR", "amount": amount}


plus = st.sampled_from(["PLU-WHOPPER", "PLU-FRIES-M", "PLU-COKE-M", "PLU-SUNDAE", "PLU-CHEESE"])
nodes = st.recursive(
    st.builds(lambda plu, q: {"externalReferenceId": plu, "type": "Item", "quantity": q},
              plus, st.integers(1, 5)),
    lambda children: st.builds(
        lambda kind, plu, q, kids: {"externalReferenceId": plu, "type": kind, "quantity": q,
                                    "menuSelections": kids},
        st.sampled_from(["Item", "Combo"]), plus | st.just("PLU-COMBO-WHOPPER"),
        st.integers(1, 3), st.lists(children, min_size=1, max_size=3)),
    max_leaves=8,
)  # fmt: skip


def numbered(tree: list[dict[str, Any]], prefix: str = "e") -> list[dict[str, Any]]:
    return [
        node | {"id": f"{prefix}{n}"}
        | ({"menuSelections": numbered(node["menuSelections"], f"{prefix}{n}.")}
           if "menuSelections" in node else {})
        for n, node in enumerate(tree)
    ]  # fmt: skip


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(nodes, min_size=1, max_size=4))
def test_any_cart_of_the_menu_is_priced_consistently(tree: list[dict[str, Any]]) -> None:
    webhook = pos_wire.PriceWebhook.model_validate(
        fixture("rbi_pos_price_webhook.json") | {"cart": {"menuSelections": numbered(tree)}}
    )
    state = RbiPosState("pos-store-17", "EUR", 10)
    answer = pos_wire.Priced.model_validate(state.price(state.remember(webhook)))
    asked = mapping.cart_lines(webhook.cart.menuSelections)
    assert check_priced(mapping.priced_cart(answer), currency="EUR", requested=asked) == ()


async def test_a_sold_out_item_is_a_menu_error(rbi_pos: Client, rbi_hub: RbiHub) -> None:
    await control(rbi_pos, "POST", "/_sim/menu/PLU-SUNDAE", {"available": False})
    await control(rbi_pos, "POST", "/_sim/faults", {"error_field": "errors"})
    await send(rbi_pos, "/webhooks/price-order", price_webhook(rbi_hub))
    [callback] = await rbi_hub.wait_for(PRICE_CALLBACK)
    assert callback.body == fixture("rbi_pos_callback_error.json")


async def test_an_unknown_plu_is_a_menu_error(rbi_pos: Client, rbi_hub: RbiHub) -> None:
    webhook = price_webhook(rbi_hub)
    webhook["cart"]["menuSelections"][0]["externalReferenceId"] = "PLU-CAVIAR"
    await send(rbi_pos, "/webhooks/price-order", webhook)
    [callback] = await rbi_hub.wait_for(PRICE_CALLBACK)
    assert callback.body == {
        "status": "ERROR",
        "partnerErrors": [{"code": "MENU", "message": "PLU-CAVIAR is not on the menu"}],
    }


async def test_an_offline_store_says_so_at_once_and_refuses_to_price(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    answer = await control(rbi_pos, "POST", "/_sim/store", {"online": False, "reason": "fryer"})
    assert answer["hub"]["status"] == 200
    [change] = rbi_hub.to("/v1/stores/pos-store-17/store-status-changed")
    status = StoreStatusChanged.model_validate(change.body)
    assert (status.storeStatus, status.region, status.reason) == ("INACTIVE", "ES", "fryer")
    await send(rbi_pos, "/webhooks/price-order", price_webhook(rbi_hub))
    [callback] = await rbi_hub.wait_for(PRICE_CALLBACK)
    assert callback.body["partnerErrors"][0]["code"] == "STORE"


async def test_the_heartbeat_says_whether_the_store_is_online(rbi_pos: Client) -> None:
    beat = {"storeId": "pos-store-17", "eventTime": "2026-12-03T19:30:00Z"}
    assert await send(rbi_pos, "/webhooks/store-heartbeat", beat) == (200, {"isOnline": True})
    await control(rbi_pos, "POST", "/_sim/store", {"online": False})
    assert await send(rbi_pos, "/webhooks/store-heartbeat", beat) == (200, {"isOnline": False})
    other = beat | {"storeId": "pos-store-99"}
    assert (await send(rbi_pos, "/webhooks/store-heartbeat", other))[0] == 404


async def test_a_webhook_without_maitreds_token_is_refused(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    status, _ = await send(rbi_pos, "/webhooks/price-order", price_webhook(rbi_hub), token="x")
    assert status == 401
    assert rbi_hub.received == []


async def test_the_signature_is_checked_when_a_secret_is_set(
    signed_pos: Client, rbi_hub: RbiHub
) -> None:
    body = price_webhook(rbi_hub)
    assert (await send(signed_pos, "/webhooks/price-order", body))[0] == 401
    assert (await send(signed_pos, "/webhooks/price-order", body, secret="whsec_other"))[0] == 401
    assert (await send(signed_pos, "/webhooks/price-order", body, secret=SECRET))[0] == 200
    await rbi_hub.wait_for(PRICE_CALLBACK)


async def test_a_bad_webhook_is_refused_naming_the_field(rbi_pos: Client, rbi_hub: RbiHub) -> None:
    webhook = price_webhook(rbi_hub)
    webhook["cart"]["menuSelections"][0]["quantity"] = 0
    status, answer = await send(rbi_pos, "/webhooks/price-order", webhook)
    assert status == 400
    assert answer["error"]["message"] == "cart.menuSelections[0].quantity must be at least 1"


async def test_a_webhook_for_another_store_is_not_found(rbi_pos: Client, rbi_hub: RbiHub) -> None:
    webhook = price_webhook(rbi_hub, storeId="pos-store-99")
    assert (await send(rbi_pos, "/webhooks/price-order", webhook))[0] == 404


async def test_the_callback_waits_for_the_delay(rbi_pos: Client, rbi_hub: RbiHub) -> None:
    await control(rbi_pos, "POST", "/_sim/faults", {"callback_delay_ms": 2000})
    await send(rbi_pos, "/webhooks/price-order", price_webhook(rbi_hub))
    assert rbi_hub.to(PRICE_CALLBACK) == []
    await rbi_hub.wait_for(PRICE_CALLBACK)


async def test_a_failing_leg_calls_back_an_error(rbi_pos: Client, rbi_hub: RbiHub) -> None:
    await control(rbi_pos, "POST", "/_sim/faults", {"fail_legs": ["price"]})
    await send(rbi_pos, "/webhooks/price-order", price_webhook(rbi_hub))
    [callback] = await rbi_hub.wait_for(PRICE_CALLBACK)
    assert callback.body["status"] == "ERROR"
    assert callback.body["partnerErrors"][0]["code"] == "UNKNOWN"


async def test_a_silent_leg_never_calls_back_until_released(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    await control(rbi_pos, "POST", "/_sim/faults", {"silent_legs": ["price"]})
    await send(rbi_pos, "/webhooks/price-order", price_webhook(rbi_hub))
    sim = rbi_pos.app[RBI_POS_KEY]
    await wait_until(lambda: "price" in sim.state.orders[ORDER_ID].held, what="a held callback")
    assert rbi_hub.to(PRICE_CALLBACK) == []
    late = await control(rbi_pos, "POST", f"/_sim/orders/{ORDER_ID}/release", {"leg": "price"})
    assert late["hub"]["status"] == 200
    assert rbi_hub.to(PRICE_CALLBACK)[0].body["status"] == "PRICED"


async def test_a_commit_is_committed_and_a_lead_time_of_zero_cooks_at_once(
    cooking_pos: Client, rbi_hub: RbiHub
) -> None:
    await committed(cooking_pos, rbi_hub, lead_time=0)
    assert rbi_hub.to(COMMIT_CALLBACK)[0].body == {"status": "COMMITTED"}
    events = await rbi_hub.wait_for(EVENTS, 2)
    assert [e.body for e in events] == [{"status": "PREPARED"}, {"status": "DONE"}]
    assert rbi_hub.to(FIRE_CALLBACK) == []


async def test_a_held_commit_waits_for_the_fire(cooking_pos: Client, rbi_hub: RbiHub) -> None:
    await committed(cooking_pos, rbi_hub, lead_time=None)
    state = await control(cooking_pos, "GET", "/_sim/state")
    assert state["orders"][0]["status"] == "COMMITTED"
    assert rbi_hub.to(EVENTS) == []
    await send(cooking_pos, "/webhooks/fire-order", fire_webhook(rbi_hub))
    [fired] = await rbi_hub.wait_for(FIRE_CALLBACK)
    assert fired.body == {"status": "PREPARING"}
    events = await rbi_hub.wait_for(EVENTS, 2)
    assert [e.body["status"] for e in events] == ["PREPARED", "DONE"]


async def test_a_commit_of_an_order_never_priced_reads_it_from_maitred(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    rbi_hub.orders[ORDER_ID] = fixture("rbi_channel_order_priced_response.json")["data"]
    await send(rbi_pos, "/webhooks/commit-order", commit_webhook(rbi_hub))
    [callback] = await rbi_hub.wait_for(COMMIT_CALLBACK)
    assert callback.body == {"status": "COMMITTED"}
    assert [s.method for s in rbi_hub.to(f"/v1/orders/{ORDER_ID}")] == ["GET"]


async def test_a_commit_of_an_order_maitred_cannot_show_is_an_error(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    await send(rbi_pos, "/webhooks/commit-order", commit_webhook(rbi_hub))
    [callback] = await rbi_hub.wait_for(COMMIT_CALLBACK)
    assert callback.body["partnerErrors"][0]["code"] == "UNKNOWN"


async def test_an_item_sold_out_since_pricing_fails_the_commit(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    await priced(rbi_pos, rbi_hub)
    await control(rbi_pos, "POST", "/_sim/menu/PLU-SUNDAE", {"available": False})
    await send(rbi_pos, "/webhooks/commit-order", commit_webhook(rbi_hub))
    [callback] = await rbi_hub.wait_for(COMMIT_CALLBACK)
    assert callback.body["partnerErrors"] == [{"code": "MENU", "message": "PLU-SUNDAE unavailable"}]


async def test_a_fire_for_an_order_not_committed_is_an_error(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    await priced(rbi_pos, rbi_hub)
    await send(rbi_pos, "/webhooks/fire-order", fire_webhook(rbi_hub))
    [callback] = await rbi_hub.wait_for(FIRE_CALLBACK)
    assert callback.body["status"] == "ERROR"


async def test_order_updates_are_recorded_and_a_cancel_stops_the_kitchen(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    await committed(rbi_pos, rbi_hub, lead_time=None)
    update = {
        "eventType": "ORDER_UPDATED",
        "eventTime": "2026-12-03T19:31:00Z",
        "id": ORDER_ID,
        "callbackUrl": f"{rbi_hub.url}/v1/orders/{ORDER_ID}",
        "status": "CANCELED",
    }
    assert await send(rbi_pos, "/webhooks/order-event", update) == (200, {"ok": True})
    [order] = (await control(rbi_pos, "GET", "/_sim/state"))["orders"]
    assert (order["status"], order["updates"]) == ("CANCELED", [update])


async def test_progress_reported_by_hand_reaches_the_event_endpoint(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    await committed(rbi_pos, rbi_hub)
    body = {"status": "ERROR", "errors": [{"code": "UNKNOWN", "message": "oven"}]}
    answer = await control(rbi_pos, "POST", f"/_sim/orders/{ORDER_ID}/events", body)
    assert answer["hub"]["status"] == 200
    assert rbi_hub.to(EVENTS)[0].body == {
        "status": "ERROR",
        "partnerErrors": [{"code": "UNKNOWN", "message": "oven"}],
    }


async def test_duplicate_sends_call_back_twice(rbi_pos: Client, rbi_hub: RbiHub) -> None:
    await control(rbi_pos, "POST", "/_sim/faults", {"duplicate_sends": True})
    await send(rbi_pos, "/webhooks/price-order", price_webhook(rbi_hub))
    first, second = await rbi_hub.wait_for(PRICE_CALLBACK, 2)
    assert first.body == second.body


async def test_reorder_sends_deliver_an_order_s_events_out_of_order(
    rbi_pos: Client, rbi_hub: RbiHub
) -> None:
    await committed(rbi_pos, rbi_hub)
    await control(rbi_pos, "POST", "/_sim/faults", {"reorder_sends": 1})
    held = await control(rbi_pos, "POST", f"/_sim/orders/{ORDER_ID}/events", {"status": "PREPARED"})
    assert held["held"] is True
    await control(rbi_pos, "POST", f"/_sim/orders/{ORDER_ID}/events", {"status": "DONE"})
    assert [e.body["status"] for e in rbi_hub.to(EVENTS)] == ["DONE", "PREPARED"]


async def test_unknown_or_mistyped_faults_are_refused(rbi_pos: Client) -> None:
    for body in ({"silent_legs": ["cook"]}, {"bad_totals": "yes"}, {"nope": 1}):
        async with rbi_pos.post("/_sim/faults", json=body) as response:
            assert response.status == 400
    state = await control(rbi_pos, "GET", "/_sim/state")
    assert state["faults"]["silent_legs"] == []


async def test_bad_totals_price_inconsistently(rbi_pos: Client, rbi_hub: RbiHub) -> None:
    await control(rbi_pos, "POST", "/_sim/faults", {"bad_totals": True})
    await send(rbi_pos, "/webhooks/price-order", price_webhook(rbi_hub))
    [callback] = await rbi_hub.wait_for(PRICE_CALLBACK)
    answer = mapping.priced_cart(pos_wire.Priced.model_validate(callback.body))
    assert [e.code.name for e in check_priced(answer, currency="EUR")] == ["UNKNOWN"]


def test_the_state_shows_the_cart_as_it_came() -> None:
    webhook = pos_wire.PriceWebhook.model_validate(fixture("rbi_pos_price_webhook.json"))
    order = RbiPosState("pos-store-17", "EUR", 10).remember(webhook)
    assert (
        order.as_json()["cart"] == fixture("rbi_pos_price_webhook.json")["cart"]["menuSelections"]
    )
