"""The RMS simulator: tables, bookings sent to maitred, and the pos_order receiver's checks."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook

from tests.simulators.support import HUB_KEY, RMS_TOKEN, SECRET, Client, FakeHub, call, fixture

TABLES = "/venue/rms-venue-1/tables"


async def own_tables(rms: Client) -> list[dict[str, str]]:
    status, tables = await call(rms, "GET", TABLES, token=RMS_TOKEN)
    assert status == 200
    assert isinstance(tables, list)
    return tables


async def own_event(rms: Client, **changes: Any) -> dict[str, Any]:
    """The seed's example event, moved onto the simulator's venue and first table."""
    tables = await own_tables(rms)
    event: dict[str, Any] = fixture("rms_pos_order_event.json")
    event |= {"venueId": "rms-venue-1", "tables": [tables[0]["id"]]}
    return event | changes


async def deliver(
    rms: Client, event: dict[str, Any], *, webhook_id: str | None = None, **headers: str
) -> int:
    sent = {"Authorization": f"Bearer {RMS_TOKEN}", "webhook-id": webhook_id or uuid.uuid4().hex}
    async with rms.post("/webhooks/pos-order", json=event, headers=sent | headers) as response:
        return response.status


async def events(rms: Client) -> list[dict[str, Any]]:
    _, found = await call(rms, "GET", "/_sim/events")
    assert isinstance(found, list)
    return found


async def test_tables_have_stable_uuid_ids(rms: Client) -> None:
    tables = await own_tables(rms)
    assert [t["name"] for t in tables] == [f"{n:03d}" for n in range(1, 13)]
    assert all(uuid.UUID(t["id"]).version == 5 for t in tables)
    assert set(tables[0]) == {"id", "name"}


async def test_tables_need_the_token(rms: Client) -> None:
    status, answer = await call(rms, "GET", TABLES, token="wrong")
    assert status == 401
    assert answer["error"]["code"] == 401


async def test_booking_is_posted_to_maitred(rms: Client, hub: FakeHub) -> None:
    seated = fixture("rms_reservation_seated.json")
    body = {k: v for k, v in seated.items() if k != "venueId"} | {"tables": ["003"]}
    status, answer = await call(rms, "POST", "/_sim/bookings", body)
    assert status == 200
    table_003 = (await own_tables(rms))[2]["id"]
    sent = hub.received[0]
    assert (sent.method, sent.path) == ("POST", "/rms")
    assert sent.authorization == f"Bearer {HUB_KEY}"
    assert sent.body == seated | {"venueId": "rms-venue-1", "tables": [table_003]}
    assert list(sent.body) == list(seated)
    assert answer["hub"] == {"status": 200, "body": {"ok": True}}


async def test_booking_change_resends_the_full_state(rms: Client, hub: FakeHub) -> None:
    body = {"bookingId": "b-1", "partySize": 2, "status": "booked", "tables": ["001"]}
    await call(rms, "POST", "/_sim/bookings", body)
    change = {"status": "seated", "tables": ["002"], "items": [{"sku": "WATER", "quantity": 2}]}
    status, answer = await call(rms, "PATCH", "/_sim/bookings/b-1", change)
    assert status == 200
    first, second = hub.received[0].body, hub.received[1].body
    assert second["bookingId"] == "b-1"
    assert second["partySize"] == 2
    assert second["status"] == "seated"
    assert second["tables"] != first["tables"]
    assert second["items"] == [{"sku": "WATER", "quantity": 2}]
    assert second["date"] == first["date"]
    assert answer["booking"] == second


async def test_booking_with_an_unknown_table_is_refused(rms: Client, hub: FakeHub) -> None:
    body = {"partySize": 2, "status": "seated", "tables": ["T3"]}
    status, _ = await call(rms, "POST", "/_sim/bookings", body)
    assert status == 400
    assert hub.received == []


async def test_duplicate_and_reorder_faults_on_bookings(rms: Client, hub: FakeHub) -> None:
    await call(rms, "POST", "/_sim/faults", {"duplicate_sends": True, "reorder_sends": True})
    body = {"bookingId": "b-2", "partySize": 2, "status": "booked", "tables": ["001"]}
    _, held = await call(rms, "POST", "/_sim/bookings", body)
    assert held["held"] is True
    await call(rms, "PATCH", "/_sim/bookings/b-2", {"status": "seated"})
    assert [r.body["status"] for r in hub.received] == ["seated", "seated", "booked", "booked"]


async def test_fixture_event_on_own_venue_and_tables_is_clean(rms: Client) -> None:
    assert await deliver(rms, await own_event(rms)) == 200
    (received,) = await events(rms)
    assert received["problems"] == []
    assert received["duplicate"] is False
    assert received["body"]["checkNumber"] == "98766"


async def test_fixture_event_verbatim_is_flagged_for_foreign_ids(rms: Client) -> None:
    await deliver(rms, fixture("rms_pos_order_event.json"))
    (received,) = await events(rms)
    assert any("venueId 'your-venue-id'" in p for p in received["problems"])
    assert any("28c3ce8b" in p for p in received["problems"])


async def test_update_before_create_is_flagged(rms: Client) -> None:
    await deliver(rms, await own_event(rms, type="update"))
    (received,) = await events(rms)
    assert received["problems"] == ["check 98766: first event is 'update', expected 'create'"]


async def test_pos_table_id_and_bad_payment_type_are_flagged(rms: Client) -> None:
    event = await own_event(rms, tables=["T12"])
    event["commercials"]["paymentType"] = "card"
    await deliver(rms, event)
    problems = (await events(rms))[0]["problems"]
    assert "table 'T12' is not one of this RMS's table ids" in problems
    assert any("paymentType 'card'" in p for p in problems)


async def test_wrong_types_are_flagged(rms: Client) -> None:
    event = await own_event(rms, checkNumber=98766, date="2024-06-28", closedAt=None)
    event["items"][0]["quantity"] = "2"
    del event["voidedAt"]
    await deliver(rms, event)
    problems = (await events(rms))[0]["problems"]
    assert "checkNumber 98766 must be a non-empty string" in problems
    assert "date must be an integer" in problems
    assert "voidedAt is missing (send null)" in problems
    assert "items[0].quantity must be an integer" in problems


async def test_sequence_rules_across_a_checks_events(rms: Client) -> None:
    create = await own_event(rms)
    close = create | {"type": "update", "status": "CLOSE", "updatedAt": create["updatedAt"] + 60}
    for event in (create, close):
        await deliver(rms, event)
    late = create | {"type": "update", "updatedAt": create["updatedAt"] + 30}
    await deliver(rms, late)
    problems = (await events(rms))[2]["problems"]
    assert "check 98766: reopened after CLOSE" in problems
    assert any("updatedAt went backwards" in p for p in problems)
    assert "status CLOSE without closedAt" in (await events(rms))[1]["problems"]


async def test_nothing_may_follow_a_void(rms: Client) -> None:
    create = await own_event(rms)
    void = create | {"type": "void", "status": "VOID", "voidedAt": create["updatedAt"]}
    for event in (create, void, create | {"type": "update"}):
        await deliver(rms, event)
    assert "check 98766: event after void" in (await events(rms))[2]["problems"]


async def test_duplicate_webhook_id_is_recorded_as_a_duplicate(rms: Client) -> None:
    event = await own_event(rms)
    await deliver(rms, event, webhook_id="msg_1")
    await deliver(rms, copy.deepcopy(event), webhook_id="msg_1")
    first, second = await events(rms)
    assert second["duplicate"] is True
    assert second["problems"] == []
    assert first["webhookId"] == second["webhookId"] == "msg_1"


async def test_failed_deliveries_do_not_count(rms: Client) -> None:
    event = await own_event(rms)
    await call(rms, "POST", "/_sim/faults", {"fail_count": 1, "fail_status": 500})
    assert await deliver(rms, event, webhook_id="msg_2") == 500
    assert await deliver(rms, event, webhook_id="msg_2") == 200
    (received,) = await events(rms)
    assert received["problems"] == []
    assert received["duplicate"] is False


def signed_headers(body: str, webhook_id: str) -> dict[str, str]:
    now = datetime.now(UTC)
    signature = Webhook(SECRET).sign(webhook_id, now, body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


async def post_raw(rms: Client, body: str, headers: dict[str, str]) -> int:
    sent = {"Authorization": f"Bearer {RMS_TOKEN}", "Content-Type": "application/json"}
    async with rms.post("/webhooks/pos-order", data=body, headers=sent | headers) as response:
        return response.status


async def test_signed_event_is_verified(signed_rms: Client) -> None:
    body = json.dumps(await own_event(signed_rms))
    assert await post_raw(signed_rms, body, signed_headers(body, "msg_s1")) == 200
    (received,) = await events(signed_rms)
    assert received["signature"] == "valid"
    assert received["problems"] == []


async def test_badly_signed_event_is_refused(signed_rms: Client) -> None:
    body = json.dumps(await own_event(signed_rms))
    headers = signed_headers(body.replace("98766", "98767"), "msg_s2")
    assert await post_raw(signed_rms, body, headers) == 401
    (received,) = await events(signed_rms)
    assert received["signature"] == "invalid"
    assert received["answered"] == web.HTTPUnauthorized.status_code
