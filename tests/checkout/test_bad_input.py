"""Bad input on the RBI routes: a 4xx in the contract's error shape naming the problem, and
nothing changed (issue 14, "Done when")."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.checkout.stack import (
    CHANNEL_KEY_,
    NO_CURRENCY_STORE,
    OTHER_POS_KEY,
    POS_KEY,
    STORE,
    ChannelStack,
)
from tests.checkout.test_flow import _price
from tests.factories import fixture

PRICE = fixture("rbi_channel_price_order_request.json")


def _body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(PRICE)
    body["storeId"] = STORE
    body.update(changes)
    return body


def _counts(stack: ChannelStack) -> tuple[int, int, int]:
    [row] = stack.rows(
        "SELECT (SELECT count(*) FROM channel_orders) AS o,"
        " (SELECT count(*) FROM channel_order_events) AS e,"
        # The store timers' heartbeats and store updates run on their own clock.
        " (SELECT count(*) FROM deliveries WHERE kind NOT LIKE '%heartbeat'"
        "  AND kind NOT LIKE '%store_updated') AS d"
    )
    return row["o"], row["e"], row["d"]


def _names(body: Any, status: int, location: str, where: str = "requestBody") -> None:
    assert body["status"] == status, body
    assert {"status", "code", "message", "errors"} <= set(body), body
    assert body["errors"][0]["location"] == location, body
    assert body["errors"][0]["locationType"] == where, body
    assert location in body["message"], body


def _selection(quantity: int) -> dict[str, Any]:
    return {
        "menuSelections": [{"id": "a", "externalReferenceId": "PLU-SUNDAE", "quantity": quantity}]
    }


CHANNEL_CASES = {
    "unknown store": (_body(storeId="999999"), 404, "storeId"),
    "no currency": (_body(storeId=NO_CURRENCY_STORE), 409, "currency"),
    "empty cart": (_body(cart={"menuSelections": []}), 400, "cart.menuSelections"),
    "zero quantity": (_body(cart=_selection(0)), 400, "cart.menuSelections[0].quantity"),
    "negative quantity": (_body(cart=_selection(-2)), 400, "cart.menuSelections[0].quantity"),
}


async def test_bad_channel_input_is_refused_naming_it_and_changes_nothing(
    stack: ChannelStack,
) -> None:
    hub = stack.hub
    before = _counts(stack)
    for name, (body, status, location) in CHANNEL_CASES.items():
        got, answer = await stack.call("POST", f"{hub}/v1/channel/orders/price", body)
        assert got == status, (name, answer)
        _names(answer, status, location)
    assert stack.http is not None
    plain_text = {"Authorization": f"Bearer {CHANNEL_KEY_}", "Content-Type": "text/plain"}
    price = f"{hub}/v1/channel/orders/price"
    async with stack.http.post(price, data=b"{}", headers=plain_text) as response:
        assert response.status == 415
        refusal = await response.json()
        _names(refusal, 415, "Content-Type", "header")
        assert "application/json" in refusal["errors"][0]["message"]  # what it must be
    assert _counts(stack) == before

    order_id = (await _price(stack))["id"]
    before = _counts(stack)
    commit = f"{hub}/v1/channel/orders/{order_id}/commit"
    for lead in (100_001, -1, 1.5, "soon"):
        body = {"paymentMethod": "CASH", "fireOrderInSeconds": lead}
        got, answer = await stack.call("POST", commit, body)
        assert got == 400, (lead, answer)
        _names(answer, 400, "fireOrderInSeconds")
    got, answer = await stack.call("POST", commit, {"paymentMethod": "CASH"})
    assert got == 400
    _names(answer, 400, "fireOrderInSeconds")  # required: null is a value, not an absence
    got, answer = await stack.call("GET", f"{hub}/v1/channel/orders/no-such-order")
    assert got == 404
    _names(answer, 404, "orderId", "path")
    got, answer = await stack.call("GET", f"{hub}/v1/channel/orders/{'x' * 201}")
    assert got == 400
    _names(answer, 400, "orderId", "path")
    assert _counts(stack) == before
    assert (await stack.order(order_id))["status"] == "PRICED"


async def test_bad_pos_input_is_refused_naming_it_and_changes_nothing(
    stack: ChannelStack,
) -> None:
    hub = stack.hub
    order_id = (await _price(stack))["id"]
    before = _counts(stack)
    events = f"{hub}/v1/orders/{order_id}/events"
    got, answer = await stack.call("POST", events, {"status": "BURNT"}, key=POS_KEY)
    assert got == 400
    _names(answer, 400, "status")
    unknown = f"{hub}/v1/orders/no-such-order/commit/callback"
    got, answer = await stack.call("POST", unknown, {"status": "COMMITTED"}, key=POS_KEY)
    assert got == 404
    _names(answer, 404, "orderId", "path")
    theirs = f"{hub}/v1/orders/{order_id}/commit/callback"
    got, answer = await stack.call("POST", theirs, {"status": "COMMITTED"}, key=OTHER_POS_KEY)
    assert got == 403
    _names(answer, 403, "orderId", "path")
    # A channel's key on the POS side (and the other way round) is refused too.
    got, answer = await stack.call("POST", events, {"status": "DONE"})
    assert got == 403
    got, answer = await stack.call("GET", f"{hub}/v1/channel/orders/{order_id}", key=POS_KEY)
    assert got == 403
    assert _counts(stack) == before
    # A commit callback for an order never committed: refused, traced, nothing else changed.
    got, answer = await stack.call("POST", theirs, {"status": "COMMITTED"}, key=POS_KEY)
    assert got == 409, answer
    assert answer["code"] == "Conflict"
    assert (await stack.order(order_id))["status"] == "PRICED"


@pytest.mark.parametrize("status", ["COMMITTED", "PREPARING"])
async def test_a_resent_status_answers_200_with_the_current_state_and_changes_nothing(
    stack: ChannelStack, status: str
) -> None:
    order_id = (await _price(stack))["id"]
    answer = await stack.channel_do(f"/_sim/orders/{order_id}/commit", {})
    assert answer["body"]["data"]["status"] == "COMMITTED"
    fired = await stack.channel_do(f"/_sim/orders/{order_id}/fire")
    assert fired["status"] == 200
    await stack.until_status(order_id, "PREPARING")
    [before] = stack.rows("SELECT version FROM channel_orders WHERE id = :id", id=order_id)
    got, body = await stack.call(
        "POST", f"{stack.hub}/v1/orders/{order_id}/events", {"status": status}, key=POS_KEY
    )
    assert got == 200
    assert body["data"]["status"] == "PREPARING"
    [after] = stack.rows("SELECT version FROM channel_orders WHERE id = :id", id=order_id)
    assert after == before
    last = stack.rows(
        "SELECT verdict FROM channel_order_events WHERE order_id = :id ORDER BY seq DESC",
        id=order_id,
    )[0]
    assert last["verdict"] == "ignore"
