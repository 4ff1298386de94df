"""The demo's online orders (issue 14): a channel places takeaway orders through maitred, which
has the venue's RBI-contract POS price, commit and fire them; every change reaches the channel
as a signed `ORDER_UPDATED`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from maitred.demo.stack import Stack, wait_for

Step = Callable[[str, Callable[[], str]], None]  # `Service.step`: play one step, check it

SUNDAES = {"items": [{"plu": "PLU-SUNDAE", "quantity": 2}]}


def _priced(st: Stack, body: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = st.channel_do("/orders/price", body or SUNDAES)
    assert answer["status"] == 200, answer
    order: dict[str, Any] = answer["body"]["data"]
    return order


def _status(st: Stack, order_id: str, status: str, timeout: float = 20) -> dict[str, Any]:
    """Wait until the channel has been told `status` for the order (by ORDER_UPDATED)."""

    def told() -> dict[str, Any] | None:
        for event in reversed(st.channel_events()):
            body = event.get("body") or {}
            if body.get("id") == order_id and body.get("status") == status:
                found: dict[str, Any] = event
                return found
        return None

    event: dict[str, Any] = wait_for(f"the channel told {status}", told, timeout)
    assert event["signature"] == "valid", event
    assert event["standard"] == "valid", event
    return event


def _money(order: dict[str, Any]) -> str:
    total = order["charges"]["total"]
    return f"{total['amount'] / 100:.2f} {total['currency']}"


def play_online(st: Stack, step: Step) -> None:
    """Four takeaway orders: fired by their lead time, fired early, refused, timed out."""

    def lead_time() -> str:
        order = _priced(st)
        assert order["status"] == "PRICED", order
        answer = st.channel_do(f"/orders/{order['id']}/commit", {"fireOrderInSeconds": 2})
        assert answer["body"]["data"]["status"] == "COMMITTED", answer
        committed = time.monotonic()
        _status(st, order["id"], "PREPARING")
        waited = time.monotonic() - committed
        assert waited >= 1.5, f"fired after {waited:.1f} s, before its lead time"
        return (
            f"priced {_money(order)} by the POS, paid, sent to the kitchen {waited:.1f} s "
            "later by its lead time (2 s); the channel got PRICED, COMMITTED, PREPARING, signed"
        )

    step("22:25 An online order is priced, paid and fired by its lead time", lead_time)

    def early() -> str:
        order = _priced(st)
        answer = st.channel_do(f"/orders/{order['id']}/commit", {"fireOrderInSeconds": None})
        assert answer["body"]["data"]["status"] == "COMMITTED", answer
        fired = st.channel_do(f"/orders/{order['id']}/fire")
        assert fired["status"] == 200, fired
        _status(st, order["id"], "PREPARING")
        return "held until the guest arrived, then fired: PREPARING at once"

    step("22:30 An online order held for pick-up is fired early", early)

    def sold_out() -> str:
        st.rbi_do("/menu/PLU-SUNDAE", {"available": False})
        try:
            order = _priced(st)
        finally:
            st.rbi_do("/menu/PLU-SUNDAE", {"available": True})
        assert order["status"] == "ERROR", order
        [error] = order["errors"]
        assert error["code"] == "MENU", error
        return f"refused at pricing: {error['code']} — {error['message']}"

    step("22:35 An online order for a sold-out sundae is refused", sold_out)

    def silent() -> str:
        st.rbi_do("/faults", {"silent_legs": ["price"]})
        try:
            started = time.monotonic()
            order = _priced(st)
            waited = time.monotonic() - started
        finally:
            st.rbi_do("/faults", None, method="DELETE")
        assert order["status"] == "ERROR", order
        [error] = order["errors"]
        assert error["code"] == "TIMEOUT", error
        _status(st, order["id"], "ERROR")
        return f"the POS never called back: ERROR ({error['code']}) after {waited:.1f} s"

    step("22:40 The POS never answers an online order: it times out", silent)
