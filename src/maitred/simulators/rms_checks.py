"""The RMS simulator's contract checker for `pos_order` events (seed 000 §1.2-1.3, README
decisions 3, 8 and 10): field types, own venue and table ids, and per-check sequence rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

EVENT_TYPES = {"create", "update", "void"}
STATUSES = {"OPEN", "CLOSE", "VOID"}
PAYMENT_TYPES = {"credit_card", "cash", "check", "others"}
MONEY_FIELDS = ("totalAmount", "tax", "tip", "discount", "prepayment")
INT_FIELDS = ("partySize", "date", "openedAt", "updatedAt")
NULLABLE_INT_FIELDS = ("closedAt", "voidedAt")


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shape_problems(event: Any, *, venue: str, table_ids: set[str]) -> list[str]:
    """Everything in one event that breaks the contract, as readable sentences."""
    if not isinstance(event, dict):
        return ["event is not a JSON object"]
    problems = _header_problems(event, venue)
    problems += _time_problems(event)
    problems += _table_problems(event.get("tables"), table_ids)
    problems += _commercials_problems(event.get("commercials"))
    problems += _item_problems(event.get("items"))
    return problems


def _header_problems(event: dict[str, Any], venue: str) -> list[str]:
    problems = []
    if event.get("type") not in EVENT_TYPES:
        problems.append(f"type {event.get('type')!r} is not one of create/update/void")
    if event.get("venueId") != venue:
        problems.append(f"venueId {event.get('venueId')!r} is not this RMS's venue {venue!r}")
    if "bookingId" not in event:
        problems.append("bookingId is missing (send null when no booking is linked)")
    elif event["bookingId"] is not None and not isinstance(event["bookingId"], str):
        problems.append("bookingId must be a string or null")
    number = event.get("checkNumber")
    if not isinstance(number, str) or not number:
        problems.append(f"checkNumber {number!r} must be a non-empty string")
    if event.get("status") not in STATUSES:
        problems.append(f"status {event.get('status')!r} is not one of OPEN/CLOSE/VOID")
    if (event.get("type") == "void") != (event.get("status") == "VOID"):
        problems.append("type 'void' and status 'VOID' must go together")
    return problems


def _time_problems(event: dict[str, Any]) -> list[str]:
    problems = [f"{name} must be an integer" for name in INT_FIELDS if not _is_int(event.get(name))]
    for name in NULLABLE_INT_FIELDS:
        if name not in event:
            problems.append(f"{name} is missing (send null)")
        elif event[name] is not None and not _is_int(event[name]):
            problems.append(f"{name} must be an integer or null")
    if event.get("status") == "CLOSE" and not _is_int(event.get("closedAt")):
        problems.append("status CLOSE without closedAt")
    if event.get("status") == "VOID" and not _is_int(event.get("voidedAt")):
        problems.append("status VOID without voidedAt")
    return problems


def _table_problems(tables: Any, table_ids: set[str]) -> list[str]:
    if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
        return ["tables must be a list of strings"]
    return [f"table {t!r} is not one of this RMS's table ids" for t in tables if t not in table_ids]


def _commercials_problems(commercials: Any) -> list[str]:
    if not isinstance(commercials, dict):
        return ["commercials must be an object"]
    problems = [
        f"commercials.{name} must be a number"
        for name in MONEY_FIELDS
        if not _is_number(commercials.get(name))
    ]
    if commercials.get("paymentType") not in PAYMENT_TYPES:
        problems.append(
            f"commercials.paymentType {commercials.get('paymentType')!r} is not one of "
            "credit_card/cash/check/others"
        )
    return problems


def _item_problems(items: Any) -> list[str]:
    if not isinstance(items, list):
        return ["items must be a list"]
    problems: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"items[{index}] must be an object")
            continue
        if not _is_int(item.get("id")):
            problems.append(f"items[{index}].id must be an integer")
        if not isinstance(item.get("name"), str):
            problems.append(f"items[{index}].name must be a string")
        if not _is_number(item.get("price")):
            problems.append(f"items[{index}].price must be a number")
        if not _is_int(item.get("quantity")):
            problems.append(f"items[{index}].quantity must be an integer")
    return problems


@dataclass
class CheckHistory:
    """What the RMS has accepted so far about one check."""

    events: int = 0
    status: str | None = None
    updated_at: int | None = None
    booking_id: str | None = None


def sequence_problems(event: Any, history: dict[str, CheckHistory]) -> list[str]:
    """Check one event against the check's history, then add it to the history."""
    if not isinstance(event, dict) or not isinstance(event.get("checkNumber"), str):
        return []
    number = event["checkNumber"]
    seen = history.setdefault(number, CheckHistory())
    problems = _order_problems(number, event, seen)
    seen.events += 1
    seen.status = event.get("status") if seen.status != "VOID" else seen.status
    if _is_int(event.get("updatedAt")):
        seen.updated_at = max(event["updatedAt"], seen.updated_at or event["updatedAt"])
    if isinstance(event.get("bookingId"), str):
        seen.booking_id = event["bookingId"]
    return problems


def _order_problems(number: str, event: dict[str, Any], seen: CheckHistory) -> list[str]:
    kind = event.get("type")
    problems = []
    if seen.events == 0 and kind != "create":
        problems.append(f"check {number}: first event is {kind!r}, expected 'create'")
    if seen.events > 0 and kind == "create":
        problems.append(f"check {number}: 'create' sent again")
    if seen.status == "VOID":
        problems.append(f"check {number}: event after void")
    elif seen.status == "CLOSE" and event.get("status") == "OPEN":
        problems.append(f"check {number}: reopened after CLOSE")
    updated = event.get("updatedAt")
    if seen.updated_at is not None and _is_int(updated) and updated < seen.updated_at:
        problems.append(f"check {number}: updatedAt went backwards ({updated} < {seen.updated_at})")
    return problems
