"""Per-venue choices: which statuses open an order (decision 6) and whether a refused
pre-order fails it (decision 9)."""

from __future__ import annotations

import time

from maitred.demo.stack import POS_VENUE, RMS_VENUE, VENUE, Stack, wait_for


def _configure(stack: Stack, **options: object) -> None:
    spec = {
        "timezone": "Europe/Madrid",
        "rms": {"partner": "rms", "venue_id": RMS_VENUE},
        "pos": {"partner": "pos", "venue_id": POS_VENUE},
        **options,
    }
    status, body = stack.admin("PUT", f"/admin/venues/{VENUE}", spec)
    assert status == 200, body


def _orders_on(stack: Stack, table: str) -> list[dict[str, object]]:
    return [o for o in stack.pos_orders() if table in o["tables"]]


def test_the_venue_chooses_which_statuses_open_an_order(stack: Stack) -> None:
    _configure(stack, seating_statuses=["Arrived"])
    stack.book(bookingId="opt-1", partySize=2, status="seated", tables=["001"])
    stack.book(bookingId="opt-2", partySize=2, status="arrived", tables=["002"])
    stack.order_on("T2")
    time.sleep(0.5)  # the seated booking had as long as the arrived one: still no order
    assert _orders_on(stack, "T1") == []


def test_a_venue_can_refuse_to_open_without_its_pre_order(stack: Stack) -> None:
    _configure(stack, reject_unknown_skus=True)
    stack.book(
        bookingId="opt-3",
        partySize=2,
        status="seated",
        tables=["003"],
        items=[{"sku": "NOT-ON-THE-MENU", "quantity": 1}],
    )
    flag = wait_for(
        "the create failure flag",
        lambda: stack.admin("GET", "/admin/flags?kind=order.create_failed")[1]["items"],
    )
    assert "422" in flag[0]["message"]
    assert _orders_on(stack, "T3") == []
