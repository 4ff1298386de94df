"""The admin API for deliveries, endpoints and pings (mounted on a bare app for the test)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2 as httpx
import pytest
from aiohttp import web

from maitred.runtime import Runtime
from tests.conftest import ADMIN_TOKEN
from tests.deliveries.helpers import (
    Received,
    add_partner,
    admin_client,
    attempts_of,
    dispatching,
    enqueue,
    receiving,
    state_of,
    wait_until,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on an app serving only the deliveries admin router."""
    async with admin_client(runtime) as http:
        yield http


async def test_admin_routes_need_the_admin_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/deliveries")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401


async def test_ping_is_queued_delivered_and_shown_with_attempts(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    async def fail_once(_r: Received, nth: int) -> web.StreamResponse:
        return web.Response(status=500 if nth == 1 else 200)

    async with receiving(fail_once) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        response = await client.post(f"/admin/partners/{partner.id}/ping", headers=ADMIN)
        assert response.status_code == 202
        queued = response.json()
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, queued["deliveryId"]) == "delivered")
    assert receiver.ids() == [queued["messageId"]] * 2
    detail = (await client.get(f"/admin/deliveries/{queued['deliveryId']}", headers=ADMIN)).json()
    assert detail["state"] == "delivered"
    assert [a["statusCode"] for a in detail["attempts"]] == [500, 200]
    assert detail["attemptCount"] == 2
    listing = (await client.get("/admin/deliveries?state=delivered", headers=ADMIN)).json()
    assert [d["id"] for d in listing["items"]] == [queued["deliveryId"]]
    (endpoint,) = (await client.get("/admin/endpoints", headers=ADMIN)).json()
    assert endpoint["lastSuccessAt"] is not None
    assert endpoint["consecutiveFailures"] == 0


async def test_ping_to_an_unknown_partner_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/partners/nobody/ping", headers=ADMIN)
    assert response.status_code == 404


async def test_replay_and_enable_over_the_api(runtime: Runtime, client: httpx.AsyncClient) -> None:
    async def first_answer_refuses(received: Received, nth: int) -> web.StreamResponse:
        if nth > 1:
            return web.Response(status=200)
        return web.Response(status=410 if b"gone" in received.body else 400)

    async with receiving(first_answer_refuses) as receiver:
        partner = await add_partner(runtime, webhook_url=receiver.url)
        gone = await enqueue(runtime, partner, {"n": "gone"})
        async with dispatching(runtime):
            # A 410 disables the endpoint; the delivery waits, pending, for the enable.
            await wait_until(lambda: len(attempts_of(runtime, gone)) == 1)
            (endpoint,) = (await client.get("/admin/endpoints", headers=ADMIN)).json()
            assert endpoint["disabledAt"] is not None
            assert state_of(runtime, gone) == "pending"
            enabled = await client.post(f"/admin/endpoints/{endpoint['id']}/enable", headers=ADMIN)
            assert enabled.json()["disabledAt"] is None
            await wait_until(lambda: state_of(runtime, gone) == "delivered")
            # A 400 fails the delivery; a replay sends it again.
            refused = await enqueue(runtime, partner, {"n": "refused"})
            await wait_until(lambda: state_of(runtime, refused) == "failed")
            bulk = await client.post(
                "/admin/deliveries/replay", headers=ADMIN, json={"partnerId": "someone-else"}
            )
            assert bulk.json() == {"count": 0}
            replayed = await client.post(f"/admin/deliveries/{refused}/replay", headers=ADMIN)
            assert replayed.status_code == 200
            await wait_until(lambda: state_of(runtime, refused) == "delivered")
            again = await client.post(f"/admin/deliveries/{refused}/replay", headers=ADMIN)
    assert again.status_code == 409
    assert len(set(receiver.ids())) == 2


async def test_a_replay_since_a_time_without_a_utc_form_is_a_400(
    client: httpx.AsyncClient,
) -> None:
    """Year 1 at +01:00 is year 0 in UTC, past what Python's datetime holds (and so is 9999 at
    -05:00 past its end): a 400 naming `since`, not a 500 from binding it."""
    for since in ("0001-01-01T00:00:01+01:00", "9999-12-31T23:00:00-05:00"):
        response = await client.post(
            "/admin/deliveries/replay", headers=ADMIN, json={"since": since}
        )
        assert response.status_code == 400, (since, response.text)
        assert "since" in response.json()["error"]["details"]
