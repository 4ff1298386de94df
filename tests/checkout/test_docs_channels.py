"""docs/partners/channels.md's examples, run as written against a hub between the RBI POS
simulator and the channel simulator: the requests are sent verbatim, and the answers and
webhooks maitred gives have the documented shape and values (ids and times aside)."""

from __future__ import annotations

import copy
from typing import Any

from tests.checkout.stack import ChannelStack
from tests.e2e.docs import blocks

VARIABLE = {"id", "createdAt", "updatedAt", "eventTime", "callbackUrl"}


def _same(documented: Any, real: Any, path: str = "") -> None:
    """`real` has exactly the documented keys and values, except ids, times and URLs."""
    if isinstance(documented, dict):
        assert isinstance(real, dict), path
        keys = set(documented) - {"…"}
        if "…" in documented:  # an abridged object: the shown keys are there, as shown
            assert keys <= set(real), (path, keys - set(real))
        else:
            assert keys == set(real), (path, keys ^ set(real))
        for key in keys - VARIABLE:
            _same(documented[key], real[key], f"{path}.{key}")
    elif isinstance(documented, list):
        assert isinstance(real, list), path
        assert len(documented) == len(real), path
        for n, (d, r) in enumerate(zip(documented, real, strict=True)):
            _same(d, r, f"{path}[{n}]")
    else:
        assert documented == real, (path, documented, real)


def _webhooks(stack: ChannelStack, event_type: str) -> list[dict[str, Any]]:
    return [
        e.body
        for e in stack.channel_sim.events
        if isinstance(e.body, dict) and e.body.get("eventType") == event_type
    ]


async def test_the_channel_guide_examples(stack: ChannelStack) -> None:
    doc = blocks("channels")
    status, priced = await stack.call(
        "POST", f"{stack.hub}/v1/channel/orders/price", doc["channel-price"].json()
    )
    assert status == 200, priced
    _same(doc["channel-priced"].json(), priced)
    order_id = priced["data"]["id"]

    status, committed = await stack.call(
        "POST", f"{stack.hub}/v1/channel/orders/{order_id}/commit", doc["channel-commit"].json()
    )
    assert status == 200, committed
    expected = copy.deepcopy(doc["channel-priced"].json())
    expected["data"].update(
        status="COMMITTED",
        fireOrderInSeconds=600,
        readyInSeconds=600,
        payment={"paymentMethod": "CASH"},
    )
    _same(expected, committed)
    update = doc["channel-order-updated"].json()
    await stack.wait_for(
        "ORDER_UPDATED COMMITTED",
        lambda: _async(
            [w for w in _webhooks(stack, "ORDER_UPDATED") if w["status"] == "COMMITTED"]
        ),
    )
    [real] = [w for w in _webhooks(stack, "ORDER_UPDATED") if w["status"] == "COMMITTED"]
    _same(update, real)
    assert real["callbackUrl"] == f"{stack.hub}/v1/channel/orders/{order_id}"

    status, placed = await stack.call(
        "POST", f"{stack.hub}/v1/channel/orders/place", doc["channel-place"].json()
    )
    assert status == 200, placed
    assert set(placed["data"]) == {"id", "callbackUrl"}
    assert placed["data"]["callbackUrl"] == f"{stack.hub}/v1/channel/orders/{placed['data']['id']}"

    bad = doc["channel-price"].json()
    bad["cart"]["menuSelections"][0]["quantity"] = 0  # "quantity < 1", as the guide says
    status, error = await stack.call("POST", f"{stack.hub}/v1/channel/orders/price", bad)
    assert status == 400
    assert error == doc["channel-error"].json()

    await stack.pos_do("/_sim/store", {"online": False, "reason": "terminal update"})
    await stack.wait_for("STORE_UPDATED", lambda: _async(_webhooks(stack, "STORE_UPDATED")))
    [store] = _webhooks(stack, "STORE_UPDATED")
    _same(doc["channel-store-updated"].json(), store)
    another_cart = doc["channel-price"].json() | {"externalReferenceId": "web-1002"}
    status, refused = await stack.call("POST", f"{stack.hub}/v1/channel/orders/price", another_cart)
    assert status == 200, refused
    _same(doc["channel-store-refused"].json(), refused)
    refused_id = refused["data"]["id"]
    await stack.wait_for(
        "ORDER_UPDATED ERROR",
        lambda: _async([w for w in _webhooks(stack, "ORDER_UPDATED") if w["id"] == refused_id]),
    )
    [error_update] = [w for w in _webhooks(stack, "ORDER_UPDATED") if w["id"] == refused_id]
    _same(doc["channel-order-error"].json(), error_update)


async def _async(value: Any) -> Any:
    return value
