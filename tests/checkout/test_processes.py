"""Channel orders across processes: the lead time survives a restart of the hub, and a callback
landing on another `maitred serve` process than the one waiting wakes it (PostgreSQL NOTIFY)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.checkout.conftest import open_stack
from tests.checkout.stack import ChannelStack
from tests.checkout.test_flow import _price, _updates

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_restart_between_commit_and_lead_time_still_prepares_on_time(
    tmp_path: Path, backend: str
) -> None:
    async for stack in open_stack(backend, tmp_path):
        order_id = (await _price(stack))["id"]
        answer = await stack.channel_do(
            f"/_sim/orders/{order_id}/commit", {"fireOrderInSeconds": 4}
        )
        assert answer["body"]["data"]["status"] == "COMMITTED"
        stack.hubs[0].stop()  # down before the lead time is over…
        [row] = stack.rows("SELECT fire_due_at FROM channel_orders WHERE id = :id", id=order_id)
        await asyncio.sleep(5)  # …and still down when it is
        assert stack.rows("SELECT status FROM channel_orders")[0]["status"] == "committed"
        restarted = time.monotonic()
        await stack.start_hub(stack.hubs[0])
        await stack.until_status(order_id, "PREPARING", timeout=15)
        assert time.monotonic() - restarted < 10
        [lead] = stack.rows(
            "SELECT verdict, status_after FROM channel_order_events"
            " WHERE order_id = :id AND source = 'lead_time'",
            id=order_id,
        )
        assert lead == {"verdict": "apply", "status_after": "preparing"}
        assert row["fire_due_at"] is not None
        told = _latest(stack, order_id, "PREPARING")
        await stack.wait_for("the channel told", told)


def _latest(stack: ChannelStack, order_id: str, status: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return _updates(stack, order_id)[-1:] == [status]

    return probe


async def test_the_callback_landing_on_another_process_wakes_the_waiting_one(
    tmp_path: Path,
) -> None:
    # Hub 0 takes the channel's calls and names hub 1 in every callbackUrl; it re-reads a
    # waiting order only every 30 s, so only PostgreSQL's NOTIFY can wake it in time.
    env = {"MAITRED_CHANNEL_WAIT_SECONDS": "10", "MAITRED_CHANNEL_POLL_SECONDS": "30"}
    async for stack in open_stack("postgresql", tmp_path, hubs=2, cross=True, **env):
        await asyncio.sleep(1)  # both listeners connected
        for _ in range(3):
            started = time.monotonic()
            priced = await _price(stack)
            assert priced["status"] == "PRICED"
            assert time.monotonic() - started < 5
            order_id = priced["id"]
            started = time.monotonic()
            answer = await stack.channel_do(
                f"/_sim/orders/{order_id}/commit", {"fireOrderInSeconds": None}
            )
            assert answer["body"]["data"]["status"] == "COMMITTED"
            assert time.monotonic() - started < 5
            callbacks = stack.rows(
                "SELECT body FROM deliveries WHERE kind IN ('rbi.price', 'rbi.commit')"
                " AND body LIKE :id",
                id=f"%{order_id}%",
            )
            assert len(callbacks) == 2
            for delivery in callbacks:
                assert f'"callbackUrl":"{stack.hubs[1].url}/v1/orders/' in delivery["body"]
