"""The POS simulator's wire format (contracts.md §1.6-1.7): reading maitred's create/update
body, and writing orders for maitred's reads and for the POS's own notifications."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from maitred.simulators.common import ApiError, iso
from maitred.simulators.pos_state import Check, Line, Order, money

POS_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
GUEST_FIELDS = ("guestName", "guestEmail", "guestTelephone")

Wanted = tuple[str, int, str | None]


@dataclass
class OrderInput:
    """A validated create/update body: the fields present, and the items when sent."""

    values: dict[str, Any] = field(default_factory=dict)
    items: list[Wanted] | None = None


class _Problems:
    """Validation messages gathered in the contract's `details` shape."""

    def __init__(self) -> None:
        self.details: dict[str, list[dict[str, list[str]]]] = {}

    def add(self, path: str, message: str) -> None:
        """Note one message for a field path such as `items[0].sku`."""
        leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
        self.details.setdefault(path, []).append({leaf: [message]})

    def raise_if_any(self) -> None:
        """400 `Validation failed` when anything was noted."""
        if self.details:
            raise ApiError(400, "Validation failed", dict(self.details))


def parse_order_body(body: dict[str, Any], *, creating: bool) -> OrderInput:
    """Check maitred's order body; `tables` (or the deprecated `tableId`) is required on create."""
    problems = _Problems()
    parsed = OrderInput()
    _read_tables(body, parsed, problems, creating=creating)
    _read_scalars(body, parsed, problems)
    if body.get("items"):
        parsed.items = _read_items(body["items"], problems)
    elif isinstance(body.get("items"), list) and not creating:
        parsed.items = []  # an update's empty list clears the pre-order lines
    problems.raise_if_any()
    return parsed


def _read_tables(
    body: dict[str, Any], parsed: OrderInput, problems: _Problems, *, creating: bool
) -> None:
    tables = body.get("tables")
    if tables is None and isinstance(body.get("tableId"), str):
        tables = [body["tableId"]]  # spec: `tableId` is deprecated but still accepted
    if tables is None:
        if creating:
            problems.add("tables", "This value should not be blank.")
        return
    if not (isinstance(tables, list) and tables and all(isinstance(t, str) and t for t in tables)):
        problems.add("tables", "Must be a non-empty list of table ids.")
        return
    parsed.values["tables"] = list(tables)


def _read_scalars(body: dict[str, Any], parsed: OrderInput, problems: _Problems) -> None:
    for name in ("id", *GUEST_FIELDS):
        if name in body:
            if body[name] is not None and not isinstance(body[name], str):
                problems.add(name, "Must be a string.")
            else:
                parsed.values[name] = body[name]
    if "partySize" in body:
        size = body["partySize"]
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            problems.add("partySize", "Must be a positive integer.")
        else:
            parsed.values["partySize"] = size
    if "prepayment" in body:
        amount = body["prepayment"]
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int | float)):
            problems.add("prepayment", "Must be a number.")
        else:
            parsed.values["prepayment"] = None if amount is None else money(amount)
    if body.get("date") is not None:
        try:
            datetime.strptime(str(body["date"]), POS_DATE_FORMAT)
            parsed.values["date"] = body["date"]
        except ValueError:
            problems.add("date", "Must be formatted Y-m-d H:i:s.")


def _read_items(items: Any, problems: _Problems) -> list[Wanted]:
    if not isinstance(items, list):
        problems.add("items", "Must be a list.")
        return []
    wanted: list[Wanted] = []
    for index, item in enumerate(items):
        path = f"items[{index}]"
        if not isinstance(item, dict):
            problems.add(path, "Must be an object.")
            continue
        sku, quantity, notes = item.get("sku"), item.get("quantity"), item.get("notes")
        if not isinstance(sku, str) or not sku:
            problems.add(f"{path}.sku", "This value should not be blank.")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            problems.add(f"{path}.quantity", "Must be a strictly positive integer.")
        if notes is not None and not isinstance(notes, str):
            problems.add(f"{path}.notes", "Must be a string.")
        if isinstance(sku, str) and isinstance(quantity, int):
            wanted.append((sku, quantity, notes))
    return wanted


def parse_items(items: Any) -> list[Wanted]:
    """Check an `items` list of `{sku, quantity, notes?}`; 400 when malformed."""
    problems = _Problems()
    wanted = _read_items(items, problems)
    problems.raise_if_any()
    return wanted


def pos_date(moment: datetime) -> str:
    """`Y-m-d H:i:s`, the POS create contract's date format."""
    return moment.strftime(POS_DATE_FORMAT)


def line_json(line: Line) -> dict[str, Any]:
    """An item line: `{id, name, price, quantity}`."""
    return {
        "id": line.item.id,
        "name": line.item.name,
        "price": line.item.price,
        "quantity": line.quantity,
    }


def check_json(check: Check) -> dict[str, Any]:
    """A check as the POS contract spells it."""
    return {
        "checkNumber": check.number,
        "status": check.status,
        "totalAmount": check.total_amount,
        "tax": check.tax,
        "tip": check.tip,
        "discount": check.discount,
        "paymentMethod": check.payment_method,
        "items": [line_json(line) for line in check.lines],
    }


def _maybe_iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def order_json(order: Order) -> dict[str, Any]:
    """The full order, as the list and retrieval endpoints answer it."""
    prepayment: Decimal | None = order.prepayment
    return {
        "id": order.id,
        "hubId": order.hub_id,
        "status": order.status,
        "tables": list(order.tables),
        "partySize": order.party_size,
        "guestName": order.guest_name,
        "guestEmail": order.guest_email,
        "guestTelephone": order.guest_telephone,
        "prepayment": prepayment,
        "date": order.date,
        "openedAt": iso(order.opened_at),
        "updatedAt": iso(order.updated_at),
        "closedAt": _maybe_iso(order.closed_at),
        "voidedAt": _maybe_iso(order.voided_at),
        "checks": [check_json(c) for c in order.checks],
    }


def order_payload(order: Order) -> dict[str, Any]:
    """The order as the POS sends it to maitred (contracts.md §1.7) plus `updatedAt`."""
    return {
        "id": order.id,
        "status": order.status,
        "tables": list(order.tables),
        "partySize": order.party_size,
        "checks": [check_json(c) for c in order.checks],
        "updatedAt": iso(order.updated_at),
    }
