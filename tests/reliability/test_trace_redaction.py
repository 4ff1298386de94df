"""No secret reaches a trace by another spelling: query parameters whose names could hold a
secret are redacted in inbound and outbound traces (names judged once percent-decoded), and
JSON keys are judged once decoded (`"tok\\u0065n"` is `"token"`), in valid and broken bodies."""

from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import select

from maitred import security
from maitred.config import Settings
from maitred.monitoring.models import Trace
from tests.deliveries.helpers import (
    Received,
    add_partner,
    dispatching,
    enqueue,
    receiving,
    runtime_with,
    state_of,
    wait_until,
)
from tests.factories import RMS_KEY, SEED_VENUE, bearer, fixture, open_hub
from tests.reliability.conftest import Record

SECRETS = [f"s3cret-{n}-value" for n in range(12)]
QUERY = (
    f"api_key={SECRETS[0]}&token={SECRETS[1]}&tok%65n={SECRETS[2]}&access_token={SECRETS[3]}"
    f"&sig={SECRETS[4]}&Password={SECRETS[5]}&client_secret={SECRETS[6]}&venue=kept-1"
)


def test_inbound_traces_redact_secret_query_parameters_and_escaped_json_keys(
    settings: Settings, figure: Record
) -> None:
    escaped = json.dumps(fixture("rms_reservation_seated.json"))[:-1] + (
        f', "tok\\u0065n": "{SECRETS[7]}", "p\\u0061ssword": "{SECRETS[8]}"}}'
    )
    broken = f'{{"bookingId": "b-1", "\\u0061pi_key": "{SECRETS[9]}", "venueId": '
    with open_hub(settings) as hub:
        tables = f"/venues/{SEED_VENUE}/pos-tables?{QUERY}"
        assert hub.client.get(tables, headers=bearer(RMS_KEY)).status_code == 200
        assert hub.client.get(f"/rms?{QUERY}").status_code in (401, 405)
        headers = bearer(RMS_KEY) | {"content-type": "application/json"}
        assert hub.client.post("/rms", content=escaped, headers=headers).status_code == 200
        assert hub.client.post("/rms", content=broken, headers=headers).status_code == 400
        hub.stop()
        rows = hub.rows("traces")
    stored = json.dumps(rows, default=str)
    leaked = [s for s in SECRETS[:10] if s in stored]
    figure(traces=len(rows), secrets_sent=10, leaked=len(leaked))
    assert leaked == []
    assert all("venue=kept-1" in r["url"] for r in rows if "?" in r["url"])


def test_redaction_judges_names_and_keys_once_decoded() -> None:
    url = security.redact_url(f"https://pos.example/api/orders?{QUERY}&status=open")
    assert not any(s in url for s in SECRETS)
    assert url.endswith("&venue=kept-1&status=open")
    assert f"api_key={security.REDACTED}" in url
    body = security.redact_body('{"a": {"se\\u0063ret": "' + SECRETS[10] + '"}, "b": 1}', 4096)
    assert body is not None
    assert SECRETS[10] not in body
    assert '"b":1' in body
    truncated = security.redact_body(
        '{"signatur\\u0065": "' + SECRETS[11] + '", "x": "' + "y" * 50, 4096
    )
    assert truncated is not None
    assert SECRETS[11] not in truncated


async def test_outbound_traces_redact_the_url_and_escaped_keys_in_answers(
    settings: Settings, figure: Record
) -> None:
    async def answer(_received: Received, _nth: int) -> web.StreamResponse:
        return web.json_response(text=f'{{"ok": true, "tok\\u0065n": "{SECRETS[11]}"}}')

    async with receiving(answer) as receiver, runtime_with(settings) as runtime:
        url = f"{receiver.url}?token={SECRETS[0]}&tok%65n={SECRETS[1]}&venue=kept-1"
        partner = await add_partner(runtime, webhook_url=url)
        delivery_id = await enqueue(runtime, partner, {"type": "ping"})
        async with dispatching(runtime):
            await wait_until(lambda: state_of(runtime, delivery_id) == "delivered", what="sent")
        with runtime.db.read_sessions() as session:
            [trace] = session.scalars(select(Trace).where(Trace.delivery_id == delivery_id))
            stored = json.dumps([trace.url, trace.response_body, trace.request_headers])
    leaked = [s for s in (SECRETS[0], SECRETS[1], SECRETS[11]) if s in stored]
    figure(secrets_sent=3, leaked=len(leaked))
    assert leaked == []
    assert "venue=kept-1" in stored
