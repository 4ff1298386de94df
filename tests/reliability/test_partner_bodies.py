"""What a partner notices when two routes disagree: one content-type and charset rule for every
partner route (`/rms` and `/v1/pos` alike), and each refused value reported for what is wrong
with it (a too-long id is too long, not blank)."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from typing import Any

from maitred.config import Settings
from tests.conftest import ADMIN_TOKEN
from tests.factories import POS_KEY, RMS_KEY, Hub, bearer, fixture, open_hub
from tests.reliability.conftest import Record

POS_ORDER = "/v1/pos/pos-venue-1/order"
BLANK = "This value should not be blank."

# (case, Content-Type or None, how the JSON text becomes bytes, the status every route answers,
# the field the error names)
Encode = Callable[[str], bytes]
CASES: list[tuple[str, str | None, Encode, int, str | None]] = [
    ("no Content-Type", None, str.encode, 200, None),
    ("charset=utf-8", "application/json; charset=utf-8", str.encode, 200, None),
    ("quoted UTF-8 charset", 'application/json; charset="UTF-8"', str.encode, 200, None),
    ("a +json type", "application/vnd.partner+json", str.encode, 200, None),
    (
        "UTF-8 byte order mark",
        "application/json",
        lambda t: codecs.BOM_UTF8 + t.encode(),
        200,
        None,
    ),
    ("UTF-16 with its BOM", "application/json", lambda t: t.encode("utf-16"), 400, "body"),
    ("UTF-16LE without BOM", "application/json", lambda t: t.encode("utf-16-le"), 400, "body"),
    ("UTF-32", None, lambda t: t.encode("utf-32"), 400, "body"),
    (
        "charset=utf-16",
        "application/json; charset=utf-16",
        lambda t: t.encode("utf-16-le"),
        415,
        "Content-Type",
    ),
    ("charset=iso-8859-1", "application/json; charset=iso-8859-1", str.encode, 415, "Content-Type"),
    ("text/plain", "text/plain", str.encode, 415, "Content-Type"),
    ("form", "application/x-www-form-urlencoded", str.encode, 415, "Content-Type"),
]


def _writes(n: int, order_id: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every partner write route with a body it accepts (fresh ids per case)."""
    booking = fixture("rms_reservation_seated.json") | {"bookingId": f"content-type-{n}"}
    order = fixture("pos_order_open.json") | {"id": f"walk-in-{n}"}
    return [
        ("POST", "/rms", RMS_KEY, booking),
        ("POST", POS_ORDER, POS_KEY, order),
        ("PUT", f"{POS_ORDER}/{order_id}", POS_KEY, fixture("pos_order_open.json")),
    ]


def _answer(
    hub: Hub, method: str, path: str, key: str, content_type: str | None, data: bytes
) -> tuple[int, Any]:
    headers = bearer(key) | ({"content-type": content_type} if content_type else {})
    response = hub.client.request(method, path, content=data, headers=headers)
    return response.status_code, response.json()


def test_every_partner_route_applies_one_content_type_and_charset_rule(
    settings: Settings, figure: Record
) -> None:
    disagreements = []
    with open_hub(settings) as hub:
        opened = hub.client.post(
            POS_ORDER, json=fixture("pos_order_open.json"), headers=bearer(POS_KEY)
        )
        order_id = opened.json()["id"]
        for n, (case, content_type, encode, status, field) in enumerate(CASES):
            for method, path, key, body in _writes(n, order_id):
                got, answer = _answer(
                    hub, method, path, key, content_type, encode(json.dumps(body))
                )
                named = field is None or field in answer.get("error", {}).get("details", {})
                if got != status or not named:
                    disagreements.append(
                        f"{case}: {method} {path} -> {got} {json.dumps(answer)[:160]}"
                    )
    figure(cases=len(CASES), routes=3, disagreements=len(disagreements))
    assert disagreements == [], "\n".join(disagreements)


def _message(answer: Any) -> str:
    return json.dumps(answer.json()["error"]["details"])


def test_a_too_long_id_is_reported_as_too_long_not_blank(settings: Settings) -> None:
    admin = bearer(ADMIN_TOKEN)
    venue = {"name": "New", "timezone": "Europe/Madrid"}
    with open_hub(settings) as hub:
        put = hub.client
        long_venue = put.put(f"/admin/venues/{'v' * 65}", json=venue, headers=admin)
        long_partner = put.put(f"/admin/partners/{'p' * 65}", json={"kind": "rms"}, headers=admin)
        applied = put.post(
            "/admin/apply", json={"venues": [{"id": "v" * 65, **venue}]}, headers=admin
        )
        link = venue | {"rms": {"partner": "r" * 65, "venue_id": "x"}}
        long_link = put.put("/admin/venues/v9", json=link, headers=admin)
        booking = fixture("rms_reservation_seated.json") | {"venueId": "x" * 201}
        long_booking = put.post("/rms", json=booking, headers=bearer(RMS_KEY))
        capital = put.put("/admin/venues/Trattoria", json=venue, headers=admin)
        blank = fixture("rms_reservation_seated.json") | {"venueId": "  "}
        blank_booking = put.post("/rms", json=blank, headers=bearer(RMS_KEY))
    for answer in (long_venue, long_partner, applied, long_link, long_booking, capital):
        assert answer.status_code == 400, answer.text
        assert BLANK not in _message(answer), answer.text
    for answer in (long_venue, long_partner, applied, long_link):
        assert "at most 64 characters" in _message(answer), answer.text
    assert "at most 200 characters" in _message(long_booking)
    assert "lowercase" in _message(capital)
    assert blank_booking.status_code == 400
    assert BLANK in _message(blank_booking)
