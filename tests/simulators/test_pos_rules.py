"""The POS simulator's floor rules without HTTP: totals, splits, settling."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from maitred.simulators import pos_actions as actions
from maitred.simulators.common import ApiError
from maitred.simulators.pos_state import Order, PosState, money

T0 = datetime(2026, 1, 1, 20, 0, tzinfo=UTC)


def order_with(state: PosState, *items: tuple[str, int]) -> Order:
    order = state.open_order(tables=["T1"], now=T0, date="2026-01-01 20:00:00")
    lines = state.lines_for([(sku, qty, None) for sku, qty in items], [])
    actions.add_lines(order, order.checks[0], lines, T0)
    return order


def test_money_rounds_half_up_to_cents() -> None:
    assert money(0.125) == Decimal("0.13")
    assert money("12.5") == Decimal("12.50")


def test_check_totals_are_decimal() -> None:
    state = PosState("v")
    check = order_with(state, ("TIRAMISU", 3), ("ESPRESSO", 1)).checks[0]
    check.tip, check.discount = money(2), money(1)
    assert (check.items_total, check.tax, check.total_amount) == (
        Decimal("25.00"),
        Decimal("2.50"),
        Decimal("26.00"),
    )


def test_split_shares_units_round_robin() -> None:
    state = PosState("v")
    order = order_with(state, ("STEAK", 3))
    actions.split(state, order, 2, T0)
    assert [[(line.item.sku, line.quantity) for line in c.lines] for c in order.checks] == [
        [("STEAK", 2)],
        [("STEAK", 1)],
    ]


def test_split_needs_enough_units() -> None:
    state = PosState("v")
    order = order_with(state, ("STEAK", 1))
    with pytest.raises(ApiError) as caught:
        actions.split(state, order, 2, T0)
    assert caught.value.status == 409


def test_updated_at_strictly_increases_on_a_frozen_clock() -> None:
    state = PosState("v")
    order = order_with(state, ("WATER", 1))
    before = order.updated_at
    actions.move(order, ["T2"], T0)
    assert order.updated_at > before


def test_voiding_every_check_is_a_void_and_closes_the_order() -> None:
    state = PosState("v")
    order = order_with(state, ("WATER", 2))
    actions.split(state, order, 2, T0)
    assert actions.void_check(order, order.checks[0], T0) == "update"
    assert actions.void_check(order, order.checks[1], T0) == "void"
    assert order.status == "closed"


def test_a_paid_order_cannot_be_voided() -> None:
    state = PosState("v")
    order = order_with(state, ("WATER", 2))
    actions.split(state, order, 2, T0)
    actions.close_check(
        order, order.checks[0], payment_method="cash", tip=money(0), discount=money(0), now=T0
    )
    with pytest.raises(ApiError):
        actions.void_order(order, T0)
