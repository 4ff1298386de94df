"""What happens on the POS floor: lines added, checks split, paid or voided, orders settled.

Each action returns the notification kind a real POS would send to maitred afterwards:
`update`, `close` (the order closed) or `void` (the whole order voided).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from maitred.simulators.common import ApiError
from maitred.simulators.pos_state import Check, Line, Order, PosState, money


def ensure_open(order: Order) -> None:
    """409 when the order is already settled."""
    if order.status != "open":
        raise ApiError(409, f"Order {order.id} is {order.status}")


def add_lines(order: Order, check: Check, lines: list[Line], now: datetime) -> str:
    """Append lines to an open check."""
    ensure_open(order)
    if check.status != "open":
        raise ApiError(409, f"Check {check.number} is {check.status}")
    check.lines.extend(lines)
    order.touch(now)
    return "update"


def replace_preorders(order: Order, lines: list[Line], now: datetime) -> None:
    """maitred's update: the new pre-order lines replace the old ones on the first open check."""
    ensure_open(order)
    check = order.first_open_check()
    for line in lines:
        line.preorder = True
    check.lines = [line for line in check.lines if not line.preorder] + lines
    order.touch(now)


def split(state: PosState, order: Order, parts: int, now: datetime) -> str:
    """Share the first open check's units round-robin over `parts` checks (it keeps its number)."""
    ensure_open(order)
    if parts < 2:
        raise ApiError(400, "parts must be at least 2")
    source = order.first_open_check()
    units = [line for line in source.lines for _ in range(line.quantity)]
    if len(units) < parts:
        raise ApiError(409, f"Check {source.number} has fewer than {parts} items to split")
    targets = [source] + [state.new_check() for _ in range(parts - 1)]
    buckets: list[list[Line]] = [[] for _ in targets]
    for index, unit in enumerate(units):
        buckets[index % parts].append(unit)
    for check, bucket in zip(targets, buckets, strict=True):
        check.lines = _regroup(bucket)
    position = order.checks.index(source)
    order.checks[position + 1 : position + 1] = targets[1:]
    order.touch(now)
    return "update"


def _regroup(units: list[Line]) -> list[Line]:
    """Merge unit lines of the same product, note and origin back into quantities."""
    grouped: dict[tuple[str, str | None, bool], Line] = {}
    for unit in units:
        key = (unit.item.sku, unit.notes, unit.preorder)
        if key in grouped:
            grouped[key].quantity += 1
        else:
            grouped[key] = Line(
                item=unit.item, quantity=1, notes=unit.notes, preorder=unit.preorder
            )
    return list(grouped.values())


def move(order: Order, tables: list[str], now: datetime) -> str:
    """The party moved (or tables were merged)."""
    ensure_open(order)
    order.tables = tables
    order.touch(now)
    return "update"


def close_check(
    order: Order,
    check: Check,
    *,
    payment_method: str,
    tip: Decimal,
    discount: Decimal,
    now: datetime,
) -> str:
    """Pay one check; the order closes with its last open check."""
    ensure_open(order)
    if check.status != "open":
        raise ApiError(409, f"Check {check.number} is {check.status}")
    check.status = "closed"
    check.payment_method = payment_method
    check.tip = money(tip)
    check.discount = money(discount)
    order.touch(now)
    return settle(order)


def close_order(
    order: Order, *, payment_method: str, tip: Decimal, discount: Decimal, now: datetime
) -> str:
    """Pay every open check (the tip and discount go on the first of them) and close the order."""
    ensure_open(order)
    open_checks = [c for c in order.checks if c.status == "open"]
    for index, check in enumerate(open_checks):
        check.status = "closed"
        check.payment_method = payment_method
        check.tip = money(tip) if index == 0 else money(0)
        check.discount = money(discount) if index == 0 else money(0)
    order.touch(now)
    return settle(order)


def void_check(order: Order, check: Check, now: datetime) -> str:
    """Void one open check; a paid check cannot be voided."""
    ensure_open(order)
    if check.status != "open":
        raise ApiError(409, f"Check {check.number} is {check.status}")
    check.status = "void"
    order.touch(now)
    return settle(order)


def void_order(order: Order, now: datetime) -> str:
    """Void the whole order (every check); refused once a check was paid."""
    ensure_open(order)
    paid = [c.number for c in order.checks if c.status == "closed"]
    if paid:
        raise ApiError(409, f"Order {order.id} has paid checks: {', '.join(paid)}")
    for check in order.checks:
        check.status = "void"
    order.touch(now)
    return settle(order)


def settle(order: Order) -> str:
    """Close the order when no check is open: `close` if one was paid, `void` if all were voided."""
    if any(c.status == "open" for c in order.checks):
        return "update"
    order.status = "closed"
    order.closed_at = order.updated_at
    if all(c.status == "void" for c in order.checks):
        order.voided_at = order.updated_at
        return "void"
    return "close"
