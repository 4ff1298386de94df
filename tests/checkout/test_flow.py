"""Each path of a channel order over HTTP (issue 14, "Done when"): maitred between the channel
simulator and the RBI POS simulator, both checking maitred's signatures."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.checkout.stack import POS_KEY, ChannelStack


async def _price(stack: ChannelStack, **body: Any) -> dict[str, Any]:
    answer = await stack.channel_do("/_sim/orders/price", body)
    assert answer["status"] == 200, answer
    data: dict[str, Any] = answer["body"]["data"]
    return data


def _updates(stack: ChannelStack, order_id: str) -> list[str]:
    return [
        e.body["status"]
        for e in stack.channel_sim.events
        if isinstance(e.body, dict) and e.body.get("id") == order_id
    ]


def _signed_right(stack: ChannelStack) -> None:
    """Every webhook the channel got verified with both signatures, none out of order."""
    assert stack.channel_sim.events
    for event in stack.channel_sim.events:
        assert (event.signature, event.standard) == ("valid", "valid"), event.as_json()
        assert event.problems == [], event.as_json()


def _trace(stack: ChannelStack, order_id: str) -> list[dict[str, Any]]:
    return stack.rows(
        "SELECT source, leg, reported_status, verdict, status_before, status_after, reason"
        " FROM channel_order_events WHERE order_id = :id ORDER BY seq",
        id=order_id,
    )


async def test_priced_committed_and_preparing_by_its_lead_time(stack: ChannelStack) -> None:
    priced = await _price(stack, items=[{"plu": "PLU-SUNDAE", "quantity": 2}])
    assert priced["status"] == "PRICED"
    assert priced["charges"]["subTotal"] == {"currency": "EUR", "amount": 398}
    assert priced["charges"]["total"]["amount"] == 398 + 40
    order_id = priced["id"]

    answer = await stack.channel_do(f"/_sim/orders/{order_id}/commit", {"fireOrderInSeconds": 2})
    assert answer["status"] == 200, answer
    assert answer["body"]["data"]["status"] == "COMMITTED"
    assert answer["body"]["data"]["fireOrderInSeconds"] == 2
    committed = time.monotonic()
    await stack.until_status(order_id, "PREPARING", timeout=10)
    assert time.monotonic() - committed >= 1.5  # not before its lead time

    await stack.wait_for(
        "the channel told of PREPARING",
        lambda: _async(_updates(stack, order_id)[-1:] == ["PREPARING"]),
    )
    assert _updates(stack, order_id) == ["PRICED", "COMMITTED", "PREPARING"]
    _signed_right(stack)
    # The POS got the same ORDER_UPDATEDs, x-signature checked (it refuses a bad one).
    pos_order = stack.pos_sim.state.orders[order_id]
    await stack.wait_for("the POS told", lambda: _async(len(pos_order.updates) == 3))
    assert [u["status"] for u in pos_order.updates] == ["PRICED", "COMMITTED", "PREPARING"]
    # No fire webhook for a lead time (decision 16).
    assert not [c for c in stack.pos_sim.core.calls if "fire-order" in str(c)]
    lead = [row for row in _trace(stack, order_id) if row["source"] == "lead_time"]
    assert [row["verdict"] for row in lead] == ["apply"]


async def _async(value: Any) -> Any:
    return value


async def test_fired_early(stack: ChannelStack) -> None:
    order_id = (await _price(stack))["id"]
    answer = await stack.channel_do(f"/_sim/orders/{order_id}/commit", {"fireOrderInSeconds": None})
    assert answer["body"]["data"]["status"] == "COMMITTED"
    fired = await stack.channel_do(f"/_sim/orders/{order_id}/fire")
    assert fired["status"] == 200, fired
    await stack.until_status(order_id, "PREPARING")
    trace = _trace(stack, order_id)
    assert ("fire_request", "apply") in [(r["source"], r["verdict"]) for r in trace]
    assert ("callback", "fire", "apply") in [(r["source"], r["leg"], r["verdict"]) for r in trace]


async def test_a_price_error_ends_the_order_in_error(stack: ChannelStack) -> None:
    await stack.pos_do("/_sim/menu/PLU-SUNDAE", {"available": False})
    answer = await stack.channel_do("/_sim/orders/price", {})
    assert answer["status"] == 200, answer
    order = answer["body"]["data"]
    assert order["status"] == "ERROR"
    assert order["errors"][0]["code"] == "MENU"


async def test_a_commit_error_ends_the_order_in_error(stack: ChannelStack) -> None:
    order_id = (await _price(stack))["id"]
    await stack.pos_do("/_sim/faults", {"fail_legs": ["commit"]})
    answer = await stack.channel_do(f"/_sim/orders/{order_id}/commit", {})
    order = answer["body"]["data"]
    assert order["status"] == "ERROR"
    assert order["errors"][0]["code"] == "UNKNOWN"


async def test_a_pos_that_never_calls_back_times_out_and_its_late_callback_changes_nothing(
    stack: ChannelStack,
) -> None:
    await stack.pos_do("/_sim/faults", {"silent_legs": ["price"]})
    started = time.monotonic()
    answer = await stack.channel_do("/_sim/orders/price", {})
    waited = time.monotonic() - started
    order = answer["body"]["data"]
    assert answer["status"] == 200
    assert order["status"] == "ERROR"
    assert order["errors"] == [
        {"code": "TIMEOUT", "message": "the POS did not answer the price in time"}
    ]
    assert 1.8 <= waited < 2 * 5  # MAITRED_CHANNEL_WAIT_SECONDS=2: not before it, nor long after
    late = await stack.pos_do(f"/_sim/orders/{order['id']}/release", {"leg": "price"})
    assert late["hub"]["status"] == 200, late  # answered with the current state
    assert late["hub"]["body"]["data"]["status"] == "ERROR"
    assert (await stack.order(order["id"]))["status"] == "ERROR"
    last = _trace(stack, order["id"])[-1]
    assert (last["source"], last["verdict"], last["status_after"]) == (
        "callback",
        "ignore",
        "error",
    )


async def test_cancel(stack: ChannelStack) -> None:
    order_id = (await _price(stack))["id"]
    answer = await stack.channel_do(f"/_sim/orders/{order_id}/cancel", {})
    assert answer["body"]["data"]["status"] == "CANCELED"
    pos_order = stack.pos_sim.state.orders[order_id]
    await stack.wait_for("the POS told", lambda: _async(pos_order.status == "CANCELED"))
    again = await stack.channel_do(f"/_sim/orders/{order_id}/commit", {})
    assert again["status"] == 409, again
    assert again["body"]["code"] == "Conflict"


async def test_place_prices_and_commits_by_itself(stack: ChannelStack) -> None:
    answer = await stack.channel_do("/_sim/orders/place", {"fireOrderInSeconds": 1})
    assert answer["status"] == 200, answer
    order_id = answer["body"]["data"]["id"]
    assert answer["body"]["data"]["callbackUrl"].endswith(f"/v1/channel/orders/{order_id}")
    await stack.until_status(order_id, "PREPARING", timeout=15)
    await stack.wait_for(
        "the channel told", lambda: _async(_updates(stack, order_id)[-1:] == ["PREPARING"])
    )
    assert _updates(stack, order_id) == ["PRICED", "COMMITTED", "PREPARING"]
    _signed_right(stack)


async def test_a_place_the_pos_never_answers_is_timed_out_by_the_sweep(
    stack: ChannelStack,
) -> None:
    await stack.pos_do("/_sim/faults", {"silent_legs": ["price"]})
    answer = await stack.channel_do("/_sim/orders/place", {"fireOrderInSeconds": None})
    order_id = answer["body"]["data"]["id"]
    order = await stack.until_status(order_id, "ERROR", timeout=15)  # wait 2 s + grace 1 s
    assert order["errors"][0]["code"] == "TIMEOUT"
    # The commit half was never asked: no commit webhook.
    assert stack.rows("SELECT id FROM deliveries WHERE kind = 'rbi.commit'") == []


async def test_the_pos_reads_the_order_it_commits(stack: ChannelStack) -> None:
    order_id = (await _price(stack))["id"]
    status, body = await stack.call("GET", f"{stack.hub}/v1/orders/{order_id}", key=POS_KEY)
    assert status == 200
    assert body["data"]["storeId"] == "pos-store-17"  # the POS's own id for the store
    assert body["data"]["cart"]["menuSelections"][0]["externalReferenceId"] == "PLU-SUNDAE"
    await asyncio.sleep(0)


async def _held_price(stack: ChannelStack, order_id: str, ask: int) -> tuple[str, Any]:
    """The price callback the silent POS holds back for request `ask` (its URL and body)."""

    async def held() -> Any:
        order = stack.pos_sim.state.orders.get(order_id)
        url, body = (order.held.get("price") if order else None) or ("", None)
        return (url, body) if url.endswith(f"?ask={ask}") else None

    found: tuple[str, Any] = await stack.wait_for(f"price request {ask} held", held)
    return found


async def test_a_re_price_replaces_the_pending_request_and_the_replaced_answer_is_ignored(
    stack: ChannelStack,
) -> None:
    """Issue 14: a re-price while CREATED replaces the pending price request. The channel
    prices again by naming its order (`externalReferenceId`, the cart visited again): the cart
    is replaced, the POS asked again, both waiting channel calls get the new price, and the
    POS's answer to the replaced request changes nothing (traced as ignored)."""
    await stack.pos_do("/_sim/faults", {"silent_legs": ["price"]})
    one_sundae = {"externalReferenceId": "cart-7", "items": [{"plu": "PLU-SUNDAE"}]}
    first = asyncio.create_task(stack.channel_do("/_sim/orders/price", one_sundae))
    await stack.wait_for("the POS asked", lambda: _async(stack.pos_sim.state.orders or None))
    order_id = next(iter(stack.pos_sim.state.orders))
    stale_url, stale_body = await _held_price(stack, order_id, 1)

    three = {"externalReferenceId": "cart-7", "items": [{"plu": "PLU-SUNDAE", "quantity": 3}]}
    second = asyncio.create_task(stack.channel_do("/_sim/orders/price", three))
    await _held_price(stack, order_id, 2)
    await stack.pos_do("/_sim/faults", {"silent_legs": []})
    released = await stack.pos_do(f"/_sim/orders/{order_id}/release", {"leg": "price"})
    assert released["hub"]["status"] == 200, released

    answers = [(await first)["body"]["data"], (await second)["body"]["data"]]
    for answer in answers:  # the call waiting since the first cart gets the new price too
        assert answer["id"] == order_id
        assert answer["status"] == "PRICED"
        assert answer["charges"]["subTotal"]["amount"] == 3 * 199
        assert answer["cart"]["menuSelections"][0]["quantity"] == 3

    status, late = await stack.call("POST", stale_url, stale_body, key=POS_KEY)
    assert status == 200, late  # answered with the current state, nothing changed
    assert late["data"]["charges"]["subTotal"]["amount"] == 3 * 199
    assert (await stack.order(order_id))["charges"]["subTotal"]["amount"] == 3 * 199
    last = _trace(stack, order_id)[-1]
    assert (last["source"], last["leg"], last["verdict"]) == ("callback", "price", "ignore")
    assert "re-priced" in last["reason"]
    assert _updates(stack, order_id) == ["PRICED"]  # one change, one ORDER_UPDATED


async def test_a_re_price_supersedes_a_price_webhook_still_queued(stack: ChannelStack) -> None:
    """The POS refuses webhooks for a while: the first price webhook waits for its retry when
    the channel prices again, and is superseded (never sent again); the new one is sent."""
    await stack.pos_do("/_sim/faults", {"fail_count": 1000})
    first = asyncio.create_task(
        stack.channel_do("/_sim/orders/price", {"externalReferenceId": "cart-9"})
    )

    async def retrying() -> Any:
        rows = stack.rows(
            "SELECT id FROM deliveries WHERE kind = 'rbi.price' AND attempts >= 1"
            " AND state = 'pending'"
        )
        return rows or None

    queued = (await stack.wait_for("the price webhook refused once", retrying))[0]["id"]
    two = {"externalReferenceId": "cart-9", "items": [{"plu": "PLU-SUNDAE", "quantity": 2}]}
    second = asyncio.create_task(stack.channel_do("/_sim/orders/price", two))
    await stack.wait_for(
        "the queued webhook superseded",
        lambda: _async(
            stack.rows("SELECT state FROM deliveries WHERE id = :id", id=queued)[0]["state"]
            == "superseded"
        ),
    )
    await stack.pos_do("/_sim/faults", method="DELETE")
    answers = [(await first)["body"]["data"], (await second)["body"]["data"]]
    assert {a["status"] for a in answers} == {"PRICED"}
    assert {a["charges"]["subTotal"]["amount"] for a in answers} == {2 * 199}
    prices = stack.rows("SELECT id, state FROM deliveries WHERE kind = 'rbi.price' ORDER BY id")
    assert [r["state"] for r in prices] == ["superseded", "delivered"]


async def test_a_re_price_once_committed_is_refused_and_changes_nothing(
    stack: ChannelStack,
) -> None:
    priced = await _price(stack, externalReferenceId="cart-11")
    committed = await stack.channel_do(f"/_sim/orders/{priced['id']}/commit", {})
    assert committed["body"]["data"]["status"] == "COMMITTED"
    again = await stack.channel_do(
        "/_sim/orders/price",
        {"externalReferenceId": "cart-11", "items": [{"plu": "PLU-SUNDAE", "quantity": 5}]},
    )
    assert again["status"] == 409, again
    order = await stack.order(priced["id"])
    assert order["status"] == "COMMITTED"
    assert order["charges"] == priced["charges"]
    last = _trace(stack, priced["id"])[-1]
    assert (last["source"], last["verdict"]) == ("price_request", "refuse")
