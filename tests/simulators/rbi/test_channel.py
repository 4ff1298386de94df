"""The channel simulator: places orders on maitred's channel API as a channel would, and
receives, checks and records maitred's webhooks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from maitred.connectors.rbi import signature
from maitred.connectors.rbi.channel_wire import PlaceOrder, PriceOrder
from maitred.simulators.channel import CHANNEL_KEY
from tests.connectors.rbi.support import fixture
from tests.deliveries.helpers import wait_until
from tests.simulators.rbi.support import CHANNEL_TOKEN, HUB_KEY, ORDER_ID, SECRET, RbiHub
from tests.simulators.support import Client

BASE = "/v1/channel/orders"


async def control(channel: Client, method: str, path: str, body: Any = None) -> Any:
    async with channel.request(method, path, json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def update(hub: RbiHub, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventType": "ORDER_UPDATED",
        "eventTime": "2026-12-03T19:31:00Z",
        "id": ORDER_ID,
        "callbackUrl": f"{hub.url}{BASE}/{ORDER_ID}",
        "status": status,
    } | extra


async def deliver(
    channel: Client,
    body: Any,
    *,
    secret: str | None = SECRET,
    message_id: str = "msg_1",
    token: str = CHANNEL_TOKEN,
) -> int:
    """A webhook as maitred sends it: Bearer, Standard Webhooks headers and x-signature."""
    raw = json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if secret:
        now = datetime.now(UTC)
        headers |= {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, now, raw.decode()),
            signature.HEADER: signature.sign(raw, secret),
        }
    async with channel.post("/webhooks/rbi", data=raw, headers=headers) as response:
        return response.status


async def events(channel: Client) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = await control(channel, "GET", "/_sim/events")
    return answer


async def test_price_sends_a_valid_price_order_and_relays_the_answer(
    channel: Client, rbi_hub: RbiHub
) -> None:
    answer = await control(channel, "POST", "/_sim/orders/price", {"externalReferenceId": "w-1"})
    assert answer["status"] == 200
    assert answer["body"] == fixture("rbi_channel_order_priced_response.json")
    [sent] = rbi_hub.to(f"{BASE}/price")
    order = PriceOrder.model_validate(sent.body)
    assert (order.storeId, order.serviceMode, order.externalReferenceId) == (
        "4242",
        "TAKEOUT",
        "w-1",
    )
    assert [(s.externalReferenceId, s.quantity) for s in order.cart.menuSelections] == [
        ("PLU-SUNDAE", 2)
    ]
    assert sent.headers["authorization"] == f"Bearer {HUB_KEY}"
    assert sent.headers["x-ui-region"] == "ES"


async def test_items_become_a_cart_tree(channel: Client, rbi_hub: RbiHub) -> None:
    meal = {"plu": "PLU-COMBO-WHOPPER", "type": "Combo", "parts": [{"plu": "PLU-WHOPPER"}]}
    await control(channel, "POST", "/_sim/orders/price", {"items": [meal]})
    [sent] = rbi_hub.to(f"{BASE}/price")
    [combo] = PriceOrder.model_validate(sent.body).cart.menuSelections
    assert combo.menuSelections is not None
    assert [child.externalReferenceId for child in combo.menuSelections] == ["PLU-WHOPPER"]


async def test_a_raw_body_is_sent_as_given(channel: Client, rbi_hub: RbiHub) -> None:
    body = {"storeId": "4242", "cart": {"menuSelections": []}}
    await control(channel, "POST", "/_sim/orders/price", body | {"raw": True})
    assert rbi_hub.to(f"{BASE}/price")[0].body == body


async def test_place_commit_fire_cancel_and_read_reach_their_routes(
    channel: Client, rbi_hub: RbiHub
) -> None:
    placed = await control(channel, "POST", "/_sim/orders/place", {"fireOrderInSeconds": 600})
    assert placed["body"]["data"]["id"] == ORDER_ID
    place = PlaceOrder.model_validate(rbi_hub.to(f"{BASE}/place")[0].body)
    assert (place.paymentMethod, place.fireOrderInSeconds) == ("CREDIT_CARD", 600)
    committed = await control(channel, "POST", f"/_sim/orders/{ORDER_ID}/commit", {})
    assert committed["body"]["data"]["status"] == "COMMITTED"
    assert rbi_hub.to(f"{BASE}/{ORDER_ID}/commit")[0].body == {
        "paymentMethod": "CREDIT_CARD",
        "fireOrderInSeconds": None,
    }
    await control(channel, "POST", f"/_sim/orders/{ORDER_ID}/fire")
    await control(channel, "POST", f"/_sim/orders/{ORDER_ID}/cancel", {"reason": "late"})
    await control(channel, "GET", f"/_sim/orders/{ORDER_ID}")
    assert [f"{s.method} {s.path}" for s in rbi_hub.received[2:]] == [
        f"POST {BASE}/{ORDER_ID}/fire",
        f"POST {BASE}/{ORDER_ID}/cancel",
        f"GET {BASE}/{ORDER_ID}",
    ]
    assert rbi_hub.to(f"{BASE}/{ORDER_ID}/cancel")[0].body == {"reason": "late"}


async def test_a_signed_order_update_is_recorded_and_its_order_read(
    channel: Client, rbi_hub: RbiHub
) -> None:
    assert await deliver(channel, update(rbi_hub, "COMMITTED")) == 200
    sim = channel.app[CHANNEL_KEY]
    await wait_until(lambda: sim.events[0].fetched is not None, what="the order read")
    [event] = await events(channel)
    assert (event["signature"], event["standard"], event["problems"]) == ("valid", "valid", [])
    assert event["fetched"]["status"] == 200
    assert [f"{s.method} {s.path}" for s in rbi_hub.received] == [f"GET {BASE}/{ORDER_ID}"]


async def test_a_bad_signature_is_refused(channel: Client, rbi_hub: RbiHub) -> None:
    assert await deliver(channel, update(rbi_hub, "DONE"), secret="whsec_b3RoZXI=") == 401
    [event] = await events(channel)
    assert (event["answered"], event["signature"]) == (401, "invalid")


async def test_a_webhook_without_the_token_is_refused(channel: Client, rbi_hub: RbiHub) -> None:
    assert await deliver(channel, update(rbi_hub, "DONE"), token="nope") == 401
    assert await events(channel) == []


async def test_a_duplicate_webhook_is_answered_and_marked(channel: Client, rbi_hub: RbiHub) -> None:
    assert await deliver(channel, update(rbi_hub, "PRICED")) == 200
    assert await deliver(channel, update(rbi_hub, "PRICED")) == 200
    assert [e["duplicate"] for e in await events(channel)] == [False, True]


async def test_statuses_going_backwards_or_past_a_final_one_are_problems(
    channel: Client, rbi_hub: RbiHub
) -> None:
    statuses = ["PREPARING", "COMMITTED", "DONE", "CANCELED"]
    for n, status in enumerate(statuses):
        assert await deliver(channel, update(rbi_hub, status), message_id=f"m{n}") == 200
    problems = [e["problems"] for e in await events(channel)]
    assert problems == [
        [],
        [f"order {ORDER_ID}: COMMITTED after PREPARING (backwards)"],
        [],
        [f"order {ORDER_ID}: CANCELED after the final DONE"],
    ]


async def test_a_malformed_webhook_names_the_field(channel: Client, rbi_hub: RbiHub) -> None:
    assert await deliver(channel, update(rbi_hub, "COOKED")) == 200
    [event] = await events(channel)
    [problem] = event["problems"]
    assert problem.startswith("status: must be one of 'CREATED', 'PRICED'")


async def test_store_and_menu_updates_are_recorded(channel: Client) -> None:
    store = {
        "eventType": "STORE_UPDATED",
        "eventTime": "2026-12-03T19:31:00Z",
        "storeId": "4242",
        "callbackUrl": "http://hub.example/v1/channel/stores/4242",
        "isOnline": False,
    }
    assert await deliver(channel, store) == 200
    [event] = await events(channel)
    assert (event["problems"], event["fetched"]) == ([], None)
