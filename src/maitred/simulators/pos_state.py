"""The POS simulator's world: a floor of tables, a menu of SKUs, and orders made of checks.

Prices include 10 % tax; a check reports `tax` as 10 % of its items total (rounded half-up to
cents) and `totalAmount = items total - discount + tip`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from maitred.simulators.common import ApiError

CENT = Decimal("0.01")
TAX_RATE = Decimal("0.10")
FIRST_ORDER_ID = 5001
FIRST_CHECK_NUMBER = 90001


def money(value: Decimal | int | float | str) -> Decimal:
    """A money amount with two decimals (floats go through `str` to avoid binary noise)."""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Table:
    """A POS table."""

    id: str
    name: str
    area: str | None


@dataclass(frozen=True)
class MenuItem:
    """A product the POS sells, by SKU, with its integer POS item id."""

    id: int
    sku: str
    name: str
    price: Decimal


@dataclass
class Line:
    """One line of a check."""

    item: MenuItem
    quantity: int
    notes: str | None = None
    preorder: bool = False

    @property
    def amount(self) -> Decimal:
        """Unit price times quantity."""
        return self.item.price * self.quantity


@dataclass
class Check:
    """A bill on an order: open, then closed (paid) or void."""

    number: str
    status: str = "open"
    tip: Decimal = Decimal("0.00")
    discount: Decimal = Decimal("0.00")
    payment_method: str | None = None
    lines: list[Line] = field(default_factory=list)

    @property
    def items_total(self) -> Decimal:
        """Sum of the lines (tax included)."""
        return money(sum((line.amount for line in self.lines), Decimal(0)))

    @property
    def tax(self) -> Decimal:
        """10 % of the items total."""
        return money(self.items_total * TAX_RATE)

    @property
    def total_amount(self) -> Decimal:
        """What the guest pays: items - discount + tip."""
        return money(self.items_total - self.discount + self.tip)


@dataclass
class Order:
    """A POS order: tables, guest, and one or more checks."""

    id: str
    tables: list[str]
    opened_at: datetime
    updated_at: datetime
    date: str
    hub_id: str | None = None
    status: str = "open"
    party_size: int | None = None
    guest_name: str | None = None
    guest_email: str | None = None
    guest_telephone: str | None = None
    prepayment: Decimal | None = None
    closed_at: datetime | None = None
    voided_at: datetime | None = None
    checks: list[Check] = field(default_factory=list)

    def check(self, number: str) -> Check:
        """One of this order's checks, or a 404."""
        for check in self.checks:
            if check.number == number:
                return check
        raise ApiError(404, f"Check {number} not found on order {self.id}")

    def first_open_check(self) -> Check:
        """Where new lines go by default; 409 when every check is settled."""
        for check in self.checks:
            if check.status == "open":
                return check
        raise ApiError(409, f"Order {self.id} has no open check")

    def touch(self, now: datetime) -> None:
        """Mark a change; `updatedAt` strictly increases so every state is orderable."""
        self.updated_at = max(now, self.updated_at + timedelta(milliseconds=1))


DINING_ROOM = "Dining room"
TERRACE = "Terrace"


def default_floor() -> list[Table]:
    """Twelve tables: T1-T8 in the dining room, T9-T12 on the terrace."""
    return [
        Table(id=f"T{n}", name=f"Table {n}", area=DINING_ROOM if n <= 8 else TERRACE)
        for n in range(1, 13)
    ]


def default_menu() -> list[MenuItem]:
    """A small menu with stable SKUs and item ids."""
    rows = [
        ("PIZZA-001", "Margherita", "12.50"),
        ("WINE-012", "House red", "24.00"),
        ("MENU-DEGUST", "Tasting menu", "65.00"),
        ("WATER", "Still water", "3.00"),
        ("STEAK", "Steak", "40.00"),
        ("TIRAMISU", "Tiramisu", "7.50"),
        ("ESPRESSO", "Espresso", "2.50"),
        ("BEER", "Draught beer", "5.50"),
    ]
    return [
        MenuItem(id=101 + n, sku=sku, name=name, price=money(price))
        for n, (sku, name, price) in enumerate(rows)
    ]


FLOORS = {"default": default_floor}


class PosState:
    """Every table, product and order of the simulated venue."""

    def __init__(self, venue: str, floor: str = "default") -> None:
        if floor not in FLOORS:
            raise ValueError(f"unknown floor {floor!r}; known: {', '.join(FLOORS)}")
        self.venue = venue
        self.tables = {t.id: t for t in FLOORS[floor]()}
        self.menu = {m.sku: m for m in default_menu()}
        self.orders: dict[str, Order] = {}
        self._next_order = FIRST_ORDER_ID
        self._next_check = FIRST_CHECK_NUMBER

    def new_check(self) -> Check:
        """A fresh open check with the next check number."""
        number = str(self._next_check)
        self._next_check += 1
        return Check(number=number)

    def open_order(self, *, tables: list[str], now: datetime, date: str) -> Order:
        """Open an order with one empty check."""
        order_id = str(self._next_order)
        self._next_order += 1
        order = Order(id=order_id, tables=tables, opened_at=now, updated_at=now, date=date)
        order.checks.append(self.new_check())
        self.orders[order_id] = order
        return order

    def find(self, order_id: str) -> Order:
        """An order by POS id or by the id maitred sent on create; 404 otherwise."""
        order = self.orders.get(order_id)
        if order is not None:
            return order
        for candidate in self.orders.values():
            if candidate.hub_id is not None and candidate.hub_id == order_id:
                return candidate
        raise ApiError(404, f"Order {order_id} not found")

    def check_tables(self, tables: list[str]) -> None:
        """400 unless every id is one of this POS's tables."""
        unknown = [t for t in tables if t not in self.tables]
        if unknown:
            details = {"tables": [{"tables": [f"Unknown table: {t}" for t in unknown]}]}
            raise ApiError(400, "Unknown table(s)", details)

    def lines_for(
        self, wanted: list[tuple[str, int, str | None]], extra_unknown: list[str]
    ) -> list[Line]:
        """Lines for `(sku, quantity, notes)`; 422 `Unknown SKU(s)` if any SKU is not sold."""
        unknown = [sku for sku, _, _ in wanted if sku not in self.menu or sku in extra_unknown]
        if unknown:
            details = {"items": [{"sku": [f"Unknown SKU: {sku}"]} for sku in unknown]}
            raise ApiError(422, "Unknown SKU(s)", details)
        return [Line(item=self.menu[sku], quantity=qty, notes=notes) for sku, qty, notes in wanted]
