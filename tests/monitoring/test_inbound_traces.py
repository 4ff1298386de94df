"""Every inbound call is traced — accepted or rejected — with partner, venue, correlation id,
status and duration, secrets redacted and bodies truncated; no key or token is ever recorded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maitred.security import REDACTED
from tests.factories import POS_KEY, RMS_KEY, SECRETS, Hub, bearer, fixture


def inbound(hub: Hub) -> list[dict[str, Any]]:
    """The inbound trace rows, after the app has flushed them."""
    hub.stop()
    rows = [r for r in hub.rows("traces") if r["direction"] == "inbound"]
    for row in rows:
        if isinstance(row["request_headers"], str):
            row["request_headers"] = json.loads(row["request_headers"])
    return rows


def test_accepted_call_is_traced_with_partner_and_venue(hub: Hub) -> None:
    response = hub.client.post(
        "/rms", json=fixture("rms_reservation_seated.json"), headers=bearer(RMS_KEY)
    )
    assert response.status_code == 200
    [trace] = inbound(hub)
    assert (trace["method"], trace["url"], trace["status_code"]) == ("POST", "/rms", 200)
    assert (trace["partner_id"], trace["venue_id"], trace["outcome"]) == ("rms-a", "v1", "success")
    assert trace["duration_ms"] > 0
    assert trace["correlation_id"] == response.headers["x-correlation-id"]
    assert trace["request_headers"]["authorization"] == REDACTED
    assert '"bookingId"' in trace["request_body"]
    assert '"accepted"' in trace["response_body"]


@pytest.mark.parametrize(
    ("headers", "body", "status", "partner"),
    [
        ({}, fixture("rms_reservation_seated.json"), 401, None),
        (bearer("wrong-key-123456"), fixture("rms_reservation_seated.json"), 401, None),
        (bearer(POS_KEY), fixture("rms_reservation_seated.json"), 404, "pos-1"),
        (
            bearer(RMS_KEY),
            fixture("rms_reservation_seated.json") | {"venueId": "nowhere"},
            404,
            "rms-a",
        ),
        (
            bearer(RMS_KEY),
            fixture("rms_reservation_seated.json") | {"partySize": "4"},
            400,
            "rms-a",
        ),
    ],
)
def test_rejected_call_is_traced(
    hub: Hub, headers: dict[str, str], body: dict[str, Any], status: int, partner: str | None
) -> None:
    assert hub.client.post("/rms", json=body, headers=headers).status_code == status
    [trace] = inbound(hub)
    assert (trace["status_code"], trace["partner_id"], trace["outcome"]) == (
        status,
        partner,
        "failed",
    )
    assert trace["venue_id"] is None
    assert trace["request_body"]


def test_oversized_call_is_traced_with_a_truncated_body(hub: Hub) -> None:
    body = fixture("rms_reservation_seated.json") | {"notes": "x" * 2_000_000}
    assert hub.client.post("/rms", json=body, headers=bearer(RMS_KEY)).status_code == 413
    [trace] = inbound(hub)
    assert trace["status_code"] == 413
    assert trace["request_headers"]["authorization"] == REDACTED
    assert len(trace["request_body"] or "") <= hub.settings.trace_body_limit + 32


def test_long_body_is_truncated_in_the_trace(hub: Hub) -> None:
    body = fixture("rms_reservation_seated.json") | {"notes": "y" * 50_000}
    assert hub.client.post("/rms", json=body, headers=bearer(RMS_KEY)).status_code == 200
    [trace] = inbound(hub)
    assert len(trace["request_body"]) <= hub.settings.trace_body_limit + 32
    assert "more]" in trace["request_body"]


def test_correlation_id_is_echoed_and_recorded(hub: Hub) -> None:
    headers = bearer(RMS_KEY) | {"x-correlation-id": "abc123"}
    response = hub.client.post("/rms", json=fixture("rms_reservation_seated.json"), headers=headers)
    assert response.status_code == 200
    assert response.headers["x-correlation-id"] == "abc123"
    [event] = hub.rows("inbound_events")
    assert event["correlation_id"] == "abc123"
    [trace] = inbound(hub)
    assert trace["correlation_id"] == "abc123"


def test_no_secret_reaches_a_trace_or_a_log(
    hub: Hub, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    seated = fixture("rms_reservation_seated.json")
    calls = [
        (bearer(RMS_KEY), seated),
        (bearer(RMS_KEY), seated | {"apiKey": RMS_KEY, "token": RMS_KEY}),
        (bearer(RMS_KEY), seated | {"partySize": "4", "notes": "t"}),
        (bearer(POS_KEY), seated),
        ({"Authorization": RMS_KEY}, seated),
        (bearer("wrong-" + RMS_KEY), seated),
    ]
    for headers, body in calls:
        hub.client.post("/rms", json=body, headers=headers)
    hub.client.get("/venues/x/pos-tables", headers=bearer(RMS_KEY))
    rows = inbound(hub)
    assert len(rows) == len(calls) + 1
    recorded = json.dumps(rows, default=str) + caplog.text
    captured = capsys.readouterr()
    recorded += captured.out + captured.err
    for secret in SECRETS:
        assert secret not in recorded
