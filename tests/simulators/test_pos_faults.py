"""Fault injection on the POS simulator: inbound (maitred's calls) and outbound (its sends)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from tests.simulators.support import Client, FakeHub, call

BASE = "/v1/pos/pos-venue-1/order"
TABLES = "/venue/pos-venue-1/tables"


async def walk_in(pos: Client) -> dict[str, Any]:
    _, answer = await call(pos, "POST", "/_sim/walk-in", {"tables": ["T1"], "partySize": 2})
    assert isinstance(answer, dict)
    return answer


async def test_fail_count_answers_the_status_then_recovers(pos: Client) -> None:
    await call(pos, "POST", "/_sim/faults", {"fail_status": 503, "fail_count": 2})
    statuses = [(await call(pos, "GET", TABLES))[0] for _ in range(3)]
    assert statuses == [503, 503, 200]


async def test_latency_delays_answers(pos: Client) -> None:
    await call(pos, "POST", "/_sim/faults", {"latency_ms": 200})
    started = time.monotonic()
    status, _ = await call(pos, "GET", TABLES)
    assert status == 200
    assert time.monotonic() - started >= 0.2


async def test_timeout_hangs_the_call(pos: Client) -> None:
    await call(pos, "POST", "/_sim/faults", {"timeout_count": 1, "hang_seconds": 1})
    with pytest.raises(asyncio.TimeoutError):
        await pos.get(TABLES, timeout=aiohttp.ClientTimeout(total=0.2))
    await asyncio.sleep(1.0)
    status, _ = await call(pos, "GET", TABLES)
    assert status == 200


async def test_unknown_skus_fault_makes_a_real_sku_unknown(pos: Client) -> None:
    await call(pos, "POST", "/_sim/faults", {"unknown_skus": ["WINE-012"]})
    body = {"tables": ["T1"], "items": [{"sku": "WINE-012", "quantity": 1}]}
    status, answer = await call(pos, "POST", "/venue/pos-venue-1/orders", body)
    assert status == 422
    assert answer["error"]["details"] == {"items": [{"sku": ["Unknown SKU: WINE-012"]}]}


async def test_duplicate_sends_every_notification_twice(pos: Client, hub: FakeHub) -> None:
    await call(pos, "POST", "/_sim/faults", {"duplicate_sends": True})
    answer = await walk_in(pos)
    assert hub.paths() == [f"POST {BASE}", f"POST {BASE}"]
    assert hub.received[0].body == hub.received[1].body
    assert len(answer["sent"]) == 2


async def test_reorder_sends_an_older_state_after_a_newer_one(pos: Client, hub: FakeHub) -> None:
    order = (await walk_in(pos))["order"]
    await call(pos, "POST", "/_sim/faults", {"reorder_sends": True})
    items = f"/_sim/orders/{order['id']}/items"
    _, held = await call(pos, "POST", items, {"items": [{"sku": "WATER", "quantity": 1}]})
    assert held["held"] is True
    assert held["hub"] is None
    _, closed = await call(pos, "POST", f"/_sim/orders/{order['id']}/close", {})
    assert hub.paths()[1:] == [f"PUT {BASE}/hub-1/close", f"PUT {BASE}/hub-1"]
    newer, older = hub.received[1].body, hub.received[2].body
    assert older["updatedAt"] < newer["updatedAt"]
    assert older["status"] == "open"
    assert len(closed["sent"]) == 2


async def test_reset_sends_a_held_notification(pos: Client, hub: FakeHub) -> None:
    await call(pos, "POST", "/_sim/faults", {"reorder_sends": 1})
    await walk_in(pos)
    assert hub.received == []
    _, reset = await call(pos, "DELETE", "/_sim/faults")
    assert hub.paths() == [f"POST {BASE}"]
    assert reset["faults"]["reorder_sends"] == 0


async def test_unknown_fault_is_400(pos: Client) -> None:
    status, answer = await call(pos, "POST", "/_sim/faults", {"explode": True})
    assert status == 400
    assert "explode" in answer["error"]["message"]


async def test_faults_do_not_touch_the_control_api(pos: Client) -> None:
    await call(pos, "POST", "/_sim/faults", {"fail_count": 5})
    status, _ = await call(pos, "GET", "/_sim/state")
    assert status == 200
