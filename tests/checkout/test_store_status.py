"""Store status over HTTP (issue 14 point 5): the RBI POS simulator reports its store offline and
online at once, and answers maitred's heartbeat; the channel simulator gets `STORE_UPDATED` on
every change (both signatures checked) and its orders for an offline store are refused at
pricing with a STORE partner error, before any webhook reaches the POS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.checkout.conftest import open_stack
from tests.checkout.stack import (
    CHANNEL_KEY_,
    NO_CURRENCY_STORE,
    POS_KEY,
    POS_STORE,
    STORE,
    ChannelStack,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
async def beating(tmp_path: Path) -> AsyncIterator[ChannelStack]:
    """One hub on SQLite whose heartbeat comes every second (offline after two unanswered)."""
    async for running in open_stack("sqlite", tmp_path, MAITRED_CHANNEL_HEARTBEAT_SECONDS="1"):
        yield running


def _store_updates(stack: ChannelStack, store: str = STORE) -> list[dict[str, Any]]:
    return [
        e.body
        for e in stack.channel_sim.events
        if isinstance(e.body, dict)
        and e.body.get("eventType") == "STORE_UPDATED"
        and e.body.get("storeId") == store
    ]


async def _online_updates(stack: ChannelStack, count: int) -> list[bool]:
    async def enough() -> bool:
        return len(_store_updates(stack)) >= count

    await stack.wait_for(f"{count} STORE_UPDATED", enough)
    return [u["isOnline"] for u in _store_updates(stack)]


def _price_webhooks(stack: ChannelStack) -> int:
    return sum(1 for c in stack.pos_sim.core.calls if "price-order" in str(c))


async def _price(stack: ChannelStack) -> dict[str, Any]:
    answer = await stack.channel_do("/_sim/orders/price", {})
    assert answer["status"] == 200, answer
    data: dict[str, Any] = answer["body"]["data"]
    return data


async def test_reported_offline_refuses_orders_and_tells_the_channel(stack: ChannelStack) -> None:
    assert (await _price(stack))["status"] == "PRICED"
    sent = _price_webhooks(stack)

    await stack.pos_do("/_sim/store", {"online": False, "reason": "terminal update"})
    assert await _online_updates(stack, 1) == [False]
    update = _store_updates(stack)[0]
    assert update["storeId"] == STORE  # the channel's own id for the store
    assert update["callbackUrl"] == f"{stack.hub}/v1/channel/stores/{STORE}"
    for event in stack.channel_sim.events:
        assert (event.signature, event.standard) == ("valid", "valid"), event.as_json()
        assert event.problems == [], event.as_json()

    refused = await _price(stack)
    assert refused["status"] == "ERROR"
    assert refused["errors"] == [
        {"code": "STORE", "message": "the store is offline: terminal update"}
    ]
    assert _price_webhooks(stack) == sent  # refused before any webhook
    status, body = await stack.call("GET", f"{stack.hub}/v1/channel/stores/{STORE}")
    assert status == 200, body
    assert body["data"]["isOnline"] is False
    assert body["data"]["reason"] == "the store is offline: terminal update"

    # Saying it again changes nothing and tells nobody.
    await stack.pos_do("/_sim/store", {"online": False})
    await stack.pos_do("/_sim/store", {"online": True})
    assert await _online_updates(stack, 2) == [False, True]
    assert (await _price(stack))["status"] == "PRICED"
    [row] = stack.rows(
        "SELECT online, reason, reported_at FROM store_status WHERE venue_id = 'burger-17'"
    )
    assert row["online"] in (True, 1)
    assert row["reason"] is None
    assert row["reported_at"]


async def test_store_status_changed_is_for_the_stores_own_pos(stack: ChannelStack) -> None:
    url = f"{stack.hub}/v1/stores/{POS_STORE}/store-status-changed"
    body = {"storeStatus": "INACTIVE", "region": "DE", "updatedAt": "2026-12-03T12:00:00Z"}
    status, answer = await stack.call("POST", url, body, key=CHANNEL_KEY_)
    assert status == 403, answer  # a channel cannot take a store offline
    unknown = f"{stack.hub}/v1/stores/no-such-store/store-status-changed"
    status, answer = await stack.call("POST", unknown, body, key=POS_KEY)
    assert status == 404, answer
    assert "storeId" in str(answer)
    status, answer = await stack.call("POST", url, {**body, "storeStatus": "ASLEEP"}, key=POS_KEY)
    assert status == 400, answer
    assert "storeStatus" in str(answer)
    assert stack.rows("SELECT online FROM store_status WHERE online = :no", no=False) == []
    assert _store_updates(stack) == []


async def test_the_heartbeat_reads_is_online(beating: ChannelStack) -> None:
    stack = beating
    await stack.wait_for(
        "a heartbeat answered",
        lambda: _true(
            stack.rows("SELECT 1 FROM store_status WHERE last_heartbeat_online IS NOT NULL")
        ),
    )
    beats = [c for c in stack.pos_sim.core.calls if "store-heartbeat" in str(c)]
    assert beats
    # The POS forgets to report: the next heartbeat's answer finds out.
    stack.pos_sim.state.online = False
    assert await _online_updates(stack, 1) == [False]
    refused = await _price(stack)
    assert refused["status"] == "ERROR"
    assert refused["errors"][0]["code"] == "STORE"
    stack.pos_sim.state.online = True
    assert await _online_updates(stack, 2) == [False, True]
    assert (await _price(stack))["status"] == "PRICED"
    # The store whose POS never answers its heartbeat (404 from the simulator) went silent.
    assert [u["isOnline"] for u in _store_updates(stack, NO_CURRENCY_STORE)] == [False]
    [silent] = stack.rows(
        "SELECT online, reason FROM store_status WHERE venue_id = 'no-currency-17'"
    )
    assert silent["online"] in (False, 0)
    assert "no heartbeat answered" in silent["reason"]
    # Each heartbeat expires when the next one is due: none is ever sent late.
    rows = stack.rows(
        "SELECT state, expires_at, created_at FROM deliveries WHERE kind = 'rbi.heartbeat'"
        " AND venue_id = 'burger-17'"
    )
    assert rows
    assert all(r["expires_at"] is not None for r in rows)


async def _true(value: Any) -> bool:
    return bool(value)
