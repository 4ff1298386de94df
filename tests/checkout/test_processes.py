"""Channel orders across processes: the lead time survives a restart of the hub, and a callback
landing on another `maitred serve` process than the one waiting wakes it (PostgreSQL NOTIFY)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.checkout.conftest import open_stack
from tests.checkout.stack import ChannelStack
from tests.checkout.test_flow import _price, _updates

pytestmark = pytest.mark.slow
WAIT = 10  # seconds a waiting price or commit waits for its callback in the two-process test


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
        await stack.start_hub(stack.hubs[0])
        # The first pass of the restarted hub's timers applies what came due meanwhile.
        await stack.until_status(order_id, "PREPARING", timeout=15)
        [lead] = stack.rows(
            "SELECT verdict, status_after, at FROM channel_order_events"
            " WHERE order_id = :id AND source = 'lead_time'",
            id=order_id,
        )
        assert (lead["verdict"], lead["status_after"]) == ("apply", "preparing")
        assert _instant(lead["at"]) >= _instant(row["fire_due_at"])  # never early
        told = _latest(stack, order_id, "PREPARING")
        await stack.wait_for("the channel told", told)


def _instant(value: datetime | str) -> datetime:
    """A stored instant (naive-UTC text on SQLite) as an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _latest(stack: ChannelStack, order_id: str, status: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return _updates(stack, order_id)[-1:] == [status]

    return probe


async def test_the_callback_landing_on_another_process_wakes_the_waiting_one(
    tmp_path: Path,
) -> None:
    # Hub 0 takes the channel's calls and names hub 1 in every callbackUrl; it re-reads a
    # waiting order only every 30 s, so only PostgreSQL's NOTIFY can wake it in time.
    env = {"MAITRED_CHANNEL_WAIT_SECONDS": str(WAIT), "MAITRED_CHANNEL_POLL_SECONDS": "30"}
    async for stack in open_stack("postgresql", tmp_path, hubs=2, cross=True, **env):
        await asyncio.sleep(1)  # both listeners connected
        for _ in range(3):
            started = time.monotonic()
            priced = await _price(stack)
            priced_in = time.monotonic() - started
            assert priced["status"] == "PRICED"
            order_id = priced["id"]
            started = time.monotonic()
            answer = await stack.channel_do(
                f"/_sim/orders/{order_id}/commit", {"fireOrderInSeconds": None}
            )
            committed_in = time.monotonic() - started
            assert answer["body"]["data"]["status"] == "COMMITTED"
            # Woken well before its 10 s wait ran out (at the deadline it would re-read the
            # order and answer the same, so only the time tells a wake-up from the deadline).
            assert priced_in < WAIT * 0.8
            assert committed_in < WAIT * 0.8
            callbacks = stack.rows(
                "SELECT body FROM deliveries WHERE kind IN ('rbi.price', 'rbi.commit')"
                " AND body LIKE :id",
                id=f"%{order_id}%",
            )
            assert len(callbacks) == 2
            for delivery in callbacks:
                assert f'"callbackUrl":"{stack.hubs[1].url}/v1/orders/' in delivery["body"]
