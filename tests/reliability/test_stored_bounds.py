"""Numbers and text a partner sends must fit what both databases store, and be stored alike.

The attack: `totalAmount` 9999999999.995 passed validation and overflowed PostgreSQL's
NUMERIC(12, 2) (a 500 the POS retries forever), while SQLite kept it in full; 12.345 was kept
as 12.345 on SQLite and rounded on PostgreSQL. The same held for every field of the class:
integers past a 32-bit column, a time whose UTC form leaves the calendar, an id or payment
method longer than its column. Every such value is now a 400 naming the field, with nothing
stored, and amounts are rounded to cents (half away from zero) before either database sees them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from maitred.config import Settings
from tests.factories import POS_KEY, RMS_KEY, Hub, bearer, fixture, open_hub
from tests.reliability.conftest import Record

ORDER = "/v1/pos/pos-venue-1/order"
MONEY_OVER = (9999999999.995, -9999999999.995, 10_000_000_000)
INT32_OVER = (2**31, -(2**31) - 1)

# (path in the body, values past what is stored); each one must be a 400 naming the path.
POS_ATTACKS: list[tuple[str, tuple[Any, ...]]] = [
    ("partySize", (2**31,)),
    ("id", ("x" * 201,)),
    ("tables[0]", ("t" * 201,)),
    ("updatedAt", ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00")),
    ("checks[0].checkNumber", ("9" * 101,)),
    ("checks[0].paymentMethod", ("p" * 65,)),
    *[(f"checks[0].{name}", MONEY_OVER) for name in ("totalAmount", "tax", "tip", "discount")],
    ("checks[0].items[0].id", (2**63, -(2**63) - 1)),
    ("checks[0].items[0].price", MONEY_OVER),
    ("checks[0].items[0].quantity", INT32_OVER),
]
RMS_ATTACKS: list[tuple[str, tuple[Any, ...]]] = [
    ("partySize", (2**31,)),
    ("date", (-1, 253_402_300_799)),  # before 1970; a day the venue's zone cannot show
    ("prepayment", MONEY_OVER),
    ("tables[0]", ("t" * 201,)),
    ("items[0].quantity", (2**31,)),
    ("checks[0]", ("9" * 101,)),
]


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    """A hub whose venue's RMS listens, so that every check becomes a stored event."""
    with open_hub(settings) as running:
        with running.engine.begin() as connection:
            connection.execute(
                text("UPDATE partners SET webhook_url = 'http://127.0.0.1:9/hook' WHERE id='rms-a'")
            )
        yield running


def _set(body: Any, path: str, value: Any) -> Any:
    """A copy of `body` with the leaf at `path` (`checks[0].items[0].id`) replaced."""
    copied = copy.deepcopy(body)
    node = copied
    steps = path.replace("[0]", ".0").split(".")
    for step in steps[:-1]:
        node = node[int(step)] if step.isdigit() else node[step]
    last = steps[-1]
    node[int(last) if last.isdigit() else last] = value
    return copied


def _stored(hub: Hub) -> dict[str, int]:
    return {t: hub.count(t) for t in ("pos_orders", "checks", "reservations", "deliveries")}


def _pos_body() -> dict[str, Any]:
    body: dict[str, Any] = fixture("pos_order_open.json")
    body["updatedAt"] = "2026-11-28T20:15:00Z"
    return body


def _rms_body() -> dict[str, Any]:
    body: dict[str, Any] = fixture("rms_reservation_preorder.json")
    return body | {"prepayment": 40.0, "checks": ["98766"]}


def _problem(answer: Any, path: str, value: Any) -> str | None:
    label = f"{path} = {json.dumps(value)[:40]} -> {answer.status_code}"
    if answer.status_code != 400:
        return f"{label}: {answer.text[:200]}"
    if path not in answer.json()["error"]["details"]:
        return f"{label}: does not name {path}: {answer.text[:300]}"
    return None


def test_numbers_and_text_past_what_the_databases_store_are_a_400_naming_the_field(
    hub: Hub, figure: Record
) -> None:
    hub.client.__dict__["_transport"].raise_server_exceptions = False  # a 500 is a finding
    before = _stored(hub)
    problems: list[str] = []
    sent = 0
    for url, key, body, attacks in (
        (ORDER, POS_KEY, _pos_body(), POS_ATTACKS),
        ("/rms", RMS_KEY, _rms_body(), RMS_ATTACKS),
    ):
        for path, values in attacks:
            for value in values:
                answer = hub.client.post(url, json=_set(body, path, value), headers=bearer(key))
                sent += 1
                problem = _problem(answer, path, value)
                if problem is not None:
                    problems.append(problem)
    figure(requests=sent, refused_naming_the_field=sent - len(problems))
    assert problems == []
    assert _stored(hub) == before


def test_the_largest_amounts_stored_are_accepted_and_read_back_alike(hub: Hub) -> None:
    body = _set(_pos_body(), "checks[0].totalAmount", 9999999999.99)
    body = _set(body, "checks[0].discount", -9999999999.99)
    answer = hub.client.post(ORDER, json=body, headers=bearer(POS_KEY))
    assert answer.status_code == 200, answer.text
    [check] = hub.rows("checks")
    # SQLite hands a raw NUMERIC back as a float: compared by its shortest text.
    assert Decimal(str(check["total_amount"])) == Decimal("9999999999.99")
    assert Decimal(str(check["discount"])) == Decimal("-9999999999.99")


ROUNDED = {  # sent → stored on both databases (half away from zero, to cents)
    "totalAmount": (12.345, Decimal("12.35")),
    "tax": (0.125, Decimal("0.13")),
    "tip": (2.675, Decimal("2.68")),
    "discount": (-0.125, Decimal("-0.13")),
}


def test_amounts_with_more_than_two_decimals_are_stored_rounded_alike_on_both_databases(
    hub: Hub,
) -> None:
    body = _pos_body()
    for name, (sent, _) in ROUNDED.items():
        body = _set(body, f"checks[0].{name}", sent)
    body = _set(body, "checks[0].items[0].price", 1.005)
    answer = hub.client.post(ORDER, json=body, headers=bearer(POS_KEY))
    assert answer.status_code == 200, answer.text

    [check] = hub.rows("checks")
    stored = {name: Decimal(str(check[column])) for name, column in _COLUMNS.items()}
    assert stored == {name: rounded for name, (_, rounded) in ROUNDED.items()}
    items = check["items"] if isinstance(check["items"], list) else json.loads(check["items"])
    assert Decimal(str(items[0]["price"])) == Decimal("1.01")
    [delivery] = hub.rows("deliveries")
    event = json.loads(delivery["body"])
    assert event["commercials"]["totalAmount"] == 12.35
    assert event["commercials"]["tax"] == 0.13
    assert event["items"][0]["price"] == 1.01


def test_a_prepayment_with_more_than_two_decimals_is_stored_rounded(hub: Hub) -> None:
    body = _rms_body() | {"prepayment": 10.005}
    answer = hub.client.post("/rms", json=body, headers=bearer(RMS_KEY))
    assert answer.status_code == 200, answer.text
    [reservation] = hub.rows("reservations")
    payload = reservation["payload"]
    payload = payload if isinstance(payload, dict) else json.loads(payload)
    assert Decimal(str(payload["prepayment"])) == Decimal("10.01")


def test_a_time_without_an_offset_is_read_as_utc_not_a_server_error(hub: Hub) -> None:
    hub.client.__dict__["_transport"].raise_server_exceptions = False
    body = _pos_body() | {"updatedAt": "2026-11-28T20:15:00"}
    answer = hub.client.post(ORDER, json=body, headers=bearer(POS_KEY))
    assert answer.status_code == 200, answer.text
    later = _set(body, "checks[0].totalAmount", 175.0) | {"updatedAt": "2026-11-28T20:16:00+00:00"}
    updated = hub.client.put(f"{ORDER}/{body['id']}", json=later, headers=bearer(POS_KEY))
    assert updated.status_code == 200, updated.text
    [check] = hub.rows("checks")
    assert Decimal(str(check["total_amount"])) == Decimal("175")


_COLUMNS = {"totalAmount": "total_amount", "tax": "tax", "tip": "tip", "discount": "discount"}
