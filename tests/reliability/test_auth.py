"""Auth: nobody gets in without the right credential, nobody reaches another partner's data,
rate limits answer 429 with Retry-After, and Standard Webhooks receivers refuse malformed or
replayed messages. Every route of the app is swept (`app.routes`), so a new one is covered
the day it is added."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from aiohttp.test_utils import TestClient as SimClient
from aiohttp.test_utils import TestServer
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from maitred.config import Settings
from maitred.schema import Base
from maitred.security import SecretBox
from maitred.simulators.rms import RmsConfig, build_app
from maitred.simulators.rms_sim import RMS_KEY as SIM_KEY
from maitred.venues.models import VenueLink
from maitred.web.ratelimit import MAX_KEYS, RateLimits, TokenBuckets
from tests.conftest import ADMIN_TOKEN
from tests.factories import (
    OTHER_RMS_KEY,
    OTHER_VENUE,
    POS_KEY,
    RMS_KEY,
    SEED_VENUE,
    Hub,
    bearer,
    fixture,
    make_partner,
    open_hub,
)
from tests.reliability.conftest import Record
from tests.reliability.live import serve, serve_process

POS2_KEY = "pos-2-key-0a9b8c7d6e5f"
POS2_VENUE = "pos-venue-2"
ADMIN = bearer(ADMIN_TOKEN)
OVERSIZED = "k" * 8_000  # far past any key's length, within the header limit
NOT_PARTNER_FACING = {"/healthz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect"}


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    """The seeded hub plus a second POS (pos-2, on venue v2), each side with data of its own:
    rms-b's booking at v2 and pos-2's order there."""
    with open_hub(settings) as running:
        with Session(running.engine) as session, session.begin():
            box = SecretBox(settings.secret_key or "")
            make_partner(session, box, id="pos-2", kind="pos", api_key=POS2_KEY)
            session.add(
                VenueLink(venue_id="v2", partner_id="pos-2", role="pos", external_id=POS2_VENUE)
            )
        booking = fixture("rms_reservation_seated.json") | {"venueId": OTHER_VENUE}
        stored = running.client.post("/rms", json=booking, headers=bearer(OTHER_RMS_KEY))
        assert stored.status_code == 200, stored.text
        opened = running.client.post(
            f"/v1/pos/{POS2_VENUE}/order", json=fixture("pos_order_open.json"),
            headers=bearer(POS2_KEY),
        )  # fmt: skip
        assert opened.status_code == 200, opened.text
        running.client.app.state.other_order = opened.json()["id"]  # type: ignore[attr-defined]
        yield running


def snapshot(hub: Hub) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the traces (rejected calls are traced on purpose)."""
    with hub.engine.connect() as connection:
        return {
            table.name: [tuple(r) for r in connection.execute(select(table))]
            for table in Base.metadata.sorted_tables
            if table.name != "traces"
        }


def routes(hub: Hub) -> list[tuple[str, str]]:
    """(method, path template) of every route the app publishes (its OpenAPI document: what
    `include_router` mounted, today's routers and tomorrow's)."""
    paths = hub.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path not in NOT_PARTNER_FACING
        for method in operations
    )


def filled(path: str, values: dict[str, str]) -> str:
    """`path` with each `{param}` replaced from `values` (a KeyError names a new parameter)."""
    for name in [p.split("}")[0] for p in path.split("{")[1:]]:
        path = path.replace("{" + name + "}", values[name.split(":")[0]])
    return path


def assert_error(response: Any, status: int) -> None:
    assert response.status_code == status, (response.request.url, response.text[:300])
    body = response.json()
    if response.request.url.path.startswith(RBI_PREFIXES):
        # The RBI contract's own shape (contracts §2.12, decision 27).
        assert {"status", "code", "message", "errors"} <= set(body), body
        assert body["status"] == status
        assert isinstance(body["message"], str)
        return
    assert set(body) == {"error"}
    assert body["error"]["code"] == status
    assert isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], dict)


RBI_PREFIXES = ("/v1/channel/", "/v1/orders/", "/v1/stores/")

BAD_CREDENTIALS: dict[str, Any] = {
    "missing": {},
    "wrong": bearer("not-a-key-at-all-0000"),
    "oversized": bearer(OVERSIZED),
    "empty bearer": {"Authorization": "Bearer "},
    "scheme only": {"Authorization": "Bearer"},
    "basic": {"Authorization": f"Basic {RMS_KEY}"},
    "token scheme": {"Authorization": f"Token {RMS_KEY}"},
    "key without scheme": {"Authorization": RMS_KEY},
    "two keys": {"Authorization": f"Bearer {RMS_KEY} {POS_KEY}"},
    "latin-1 bytes": {b"Authorization": b"Bearer \xff\xfe\xfd"},
    "control characters": {"Authorization": "Bearer \x01\x02\x7f"},
    "admin token to partner, partner key to admin": {},  # filled per route below
}


def body_for(method: str, path: str) -> dict[str, Any] | None:
    """A body that would pass validation, so only authorization decides."""
    if method == "GET" or method == "DELETE":
        return None
    if path == "/rms":
        return fixture("rms_reservation_seated.json")
    if path.startswith("/v1/pos/"):
        return fixture("pos_order_open.json")
    return RBI_BODIES.get(path.rsplit("/", 1)[-1], {})


_PRICE = fixture("rbi_channel_price_order_request.json")
RBI_BODIES: dict[str, dict[str, Any]] = {
    "price": _PRICE,
    "place": _PRICE | {"paymentMethod": "CASH", "fireOrderInSeconds": None},
    "commit": fixture("rbi_channel_commit_order_request.json"),
    "events": {"status": "DONE"},
    "store-status-changed": {
        "storeStatus": "INACTIVE",
        "region": "ES",
        "updatedAt": "2026-12-03T20:00:00Z",
        "reason": "terminal update",
    },
}


def test_every_route_refuses_bad_credentials(hub: Hub, figure: Record) -> None:
    # Failed attempts from one address would soon be answered 429 (tested below): off here.
    _with_limits(hub, TokenBuckets(0, 1), TokenBuckets(0, 1))
    before = snapshot(hub)
    all_routes = routes(hub)
    requests = 0
    for method, template in all_routes:
        admin = template.startswith("/admin")
        names = [p.split("}")[0].split(":")[0] for p in template.split("{")[1:]]
        path = filled(template, {n: "1" for n in names} | {"venueId": SEED_VENUE})
        for name, headers in BAD_CREDENTIALS.items():
            if not headers and name.startswith("admin token"):
                headers = bearer(RMS_KEY) if admin else ADMIN
            response = hub.client.request(
                method, path, json=body_for(method, template), headers=headers
            )
            requests += 1
            assert_error(response, 401)
    assert snapshot(hub) == before
    figure(routes=len(all_routes), requests=requests, server_errors=0, stored=0)


def test_no_credential_reaches_a_trace_or_a_log(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("wrong-key-secret-12345678", OVERSIZED):
        assert_error(hub.client.post("/rms", json={}, headers=bearer(key)), 401)
        assert_error(hub.client.get("/admin/partners", headers=bearer(key)), 401)
    hub.stop()  # flushes the buffered traces
    with hub.engine.connect() as connection:
        traced = json.dumps(
            [list(r) for r in connection.execute(select(Base.metadata.tables["traces"]))],
            default=str,
        )
    logged = capsys.readouterr()
    for key in ("wrong-key-secret-12345678", OVERSIZED[:64]):
        assert key not in traced
        assert key not in logged.out + logged.err


# What another partner's ids look like on each partner-facing route: (method, path) templates
# with the key that calls and the body sent. A new partner-facing route fails the sweep until
# it is listed here.
def other_partners_calls(
    hub: Hub,
) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    other_order = hub.client.app.state.other_order  # type: ignore[attr-defined]
    return {
        ("POST", "/rms"): [(RMS_KEY, {})],  # body says rms-b's venue
        ("GET", "/venues/{venueId}/pos-tables"): [
            (RMS_KEY, {"venueId": OTHER_VENUE}),
            (RMS_KEY, {"venueId": POS2_VENUE}),
            (POS_KEY, {"venueId": "pos-venue-1"}),  # a POS is not an RMS
        ],
        ("POST", "/v1/pos/{venueId}/order"): [
            (POS_KEY, {"venueId": POS2_VENUE}),
            (RMS_KEY, {"venueId": SEED_VENUE}),  # an RMS is not this venue's POS
        ],
        **{
            ("PUT", f"/v1/pos/{{venueId}}/order/{{orderId}}{suffix}"): [
                (POS_KEY, {"venueId": POS2_VENUE, "orderId": other_order}),
                (POS_KEY, {"venueId": "pos-venue-1", "orderId": other_order}),
                (POS_KEY, {"venueId": "pos-venue-1", "orderId": "62ebe5e7210c83a0f3adf9d1"}),
            ]
            for suffix in ("", "/close", "/void")
        },
        # RBI: an order no POS of this key's has (404), a POS or RMS on the channel API (403).
        **{
            ("POST", f"/v1/orders/{{orderId}}/{leg}/callback"): [
                (POS_KEY, {"orderId": "6f1c2a9e-3b7d-4f7e-9b1a-2d4c5e6f7a8b"}, 404, status),
            ]
            for leg, status in (("price", "ERROR"), ("commit", "COMMITTED"), ("fire", "PREPARING"))
        },
        ("POST", "/v1/orders/{orderId}/events"): [(POS_KEY, {"orderId": "o-1"})],
        ("GET", "/v1/orders/{orderId}"): [(POS_KEY, {"orderId": "o-1"})],
        # RBI store status: a store this POS does not serve (404); a POS on the channel's read.
        ("POST", "/v1/stores/{storeId}/store-status-changed"): [(POS_KEY, {"storeId": "s-1"})],
        ("GET", "/v1/channel/stores/{storeId}"): [(POS_KEY, {"storeId": "s-1"}, 403)],
        **{
            (method, f"/v1/channel/orders{suffix}"): [(POS_KEY, {"orderId": "o-1"}, 403)]
            for method, suffix in (
                ("POST", "/price"),
                ("POST", "/place"),
                ("POST", "/{orderId}/commit"),
                ("POST", "/{orderId}/fire"),
                ("POST", "/{orderId}/cancel"),
                ("GET", "/{orderId}"),
            )
        },
    }


def test_another_partners_ids_read_and_change_nothing(hub: Hub, figure: Record) -> None:
    calls = other_partners_calls(hub)
    partner_routes = [r for r in routes(hub) if not r[1].startswith("/admin")]
    assert sorted(calls) == partner_routes, "list the new partner-facing route here"
    before = snapshot(hub)
    requests = 0
    for (method, template), attempts in calls.items():
        for key, values, *expected in attempts:
            body = body_for(method, template)
            if len(expected) > 1:  # a callback: its status
                body = {"status": expected[1]}
            if template == "/rms":
                body = fixture("rms_reservation_seated.json") | {"venueId": OTHER_VENUE}
            response = hub.client.request(
                method, filled(template, values), json=body, headers=bearer(key)
            )
            requests += 1
            assert_error(response, expected[0] if expected else 404)
            assert OTHER_VENUE not in response.text.replace(values.get("venueId", "-"), "")
    assert snapshot(hub) == before
    figure(routes=len(calls), requests=requests, changed=0)


def _with_limits(hub: Hub, partners: TokenBuckets, failures: TokenBuckets) -> None:
    hub.client.app.state.limits = RateLimits(partners, failures)  # type: ignore[attr-defined]


class FakeClock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_partner_over_its_rate_gets_429_with_retry_after(hub: Hub, figure: Record) -> None:
    clock = FakeClock()
    _with_limits(hub, TokenBuckets(2, 5, clock=clock), TokenBuckets(10, 100, clock=clock))
    tables = f"/venues/{SEED_VENUE}/pos-tables"
    answers = [hub.client.get(tables, headers=bearer(RMS_KEY)).status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    limited = hub.client.get(tables, headers=bearer(RMS_KEY))
    assert_error(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1
    before = snapshot(hub)
    assert_error(
        hub.client.post(
            "/rms", json=fixture("rms_reservation_seated.json"), headers=bearer(RMS_KEY)
        ),
        429,
    )
    assert snapshot(hub) == before  # a limited write stores nothing
    other = f"/venues/{OTHER_VENUE}/pos-tables"
    assert hub.client.get(other, headers=bearer(OTHER_RMS_KEY)).status_code == 200
    clock.now += 1.0  # two tokens back
    assert hub.client.get(tables, headers=bearer(RMS_KEY)).status_code == 200
    figure(burst=5, limited=3, other_partner_limited=0)


def test_an_address_failing_to_authenticate_gets_429_then_recovers(
    hub: Hub, figure: Record
) -> None:
    clock = FakeClock()
    _with_limits(hub, TokenBuckets(100, 100, clock=clock), TokenBuckets(1, 3, clock=clock))
    tables = f"/venues/{SEED_VENUE}/pos-tables"
    wrong = [hub.client.get(tables, headers=bearer("guess-000000000000")) for _ in range(5)]
    assert [r.status_code for r in wrong] == [401, 401, 401, 429, 429]
    assert_error(wrong[-1], 429)
    assert wrong[-1].headers["Retry-After"] == "1"
    assert hub.client.get("/admin/partners", headers=bearer("guess-admin-00000")).status_code == 429
    elsewhere = TestClient(hub.client.app, client=("192.0.2.7", 40000))
    assert elsewhere.get(tables, headers=bearer("guess-000000000000")).status_code == 401
    clock.now += 1.0
    assert hub.client.get(tables, headers=bearer("guess-000000000000")).status_code == 401
    assert hub.client.get(tables, headers=bearer("guess-000000000001")).status_code == 429
    figure(failures_allowed=3, limited=4, other_address_limited=0)


def test_a_valid_key_or_the_admin_token_is_never_refused_by_the_failure_limit(
    hub: Hub, figure: Record
) -> None:
    """One address (a load balancer that does not forward the client's) fails 150 times: the
    partners and the operator behind it still get in; the guesses stay limited."""
    _with_limits(hub, TokenBuckets(100, 100), TokenBuckets(10, 100, clock=FakeClock()))
    tables = f"/venues/{SEED_VENUE}/pos-tables"
    wrong = [hub.client.get(tables, headers=bearer(f"guess-{n:012}")) for n in range(150)]
    limited = sum(r.status_code == 429 for r in wrong)
    assert limited == 50
    valid = [hub.client.get(tables, headers=bearer(RMS_KEY)).status_code for _ in range(20)]
    admin = [hub.client.get("/admin/partners", headers=ADMIN).status_code for _ in range(20)]
    booking = hub.client.post(
        "/rms", json=fixture("rms_reservation_seated.json"), headers=bearer(RMS_KEY)
    )
    assert valid == [200] * 20
    assert admin == [200] * 20
    assert booking.status_code == 200
    assert hub.client.get(tables, headers=bearer("guess-again-000")).status_code == 429
    figure(failures=150, limited=limited, valid_refused=0, admin_refused=0)


def _guess_from_rotating_addresses(base_url: str, guesses: int) -> dict[int, int]:
    """`guesses` wrong keys, each claiming another client address in X-Forwarded-For."""
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=base_url) as http:
        for n in range(guesses):
            forwarded = {"X-Forwarded-For": f"198.51.100.{n % 250}"}
            answer = http.get(
                f"/venues/{SEED_VENUE}/pos-tables", headers=bearer(f"guess-{n:012}") | forwarded
            )
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
    return statuses


def test_forwarded_client_addresses_are_ignored_unless_configured(
    settings: Settings, tmp_path: Path, figure: Record
) -> None:
    """`maitred serve` as started: rotating X-Forwarded-For does not dodge the failure limit by
    default; with MAITRED_FORWARDED_ALLOW_IPS naming the proxy, each forwarded address counts
    on its own."""
    slow = {"MAITRED_AUTH_FAILURE_LIMIT": "0.001"}  # the burst of 100, then no refill to speak of
    with serve_process(settings, tmp_path / "default.log", **slow) as hub:
        default = _guess_from_rotating_addresses(hub.base_url, 150)
    trusted = slow | {"MAITRED_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with serve_process(settings, tmp_path / "trusted.log", **trusted) as hub:
        behind_proxy = _guess_from_rotating_addresses(hub.base_url, 150)
    figure(default=default, trusted_proxy=behind_proxy)
    assert default == {401: 100, 429: 50}
    assert behind_proxy == {401: 150}


def test_the_defaults_do_not_limit_a_benchmark_load() -> None:
    """32 connections of one partner at 5,000 req/s for ten seconds (more than `bench/`'s
    ingest scenario drives) pass the default limits untouched."""
    settings = Settings()
    clock = FakeClock()
    buckets = TokenBuckets(settings.rate_limit, settings.rate_limit_burst, clock=clock)
    refused = 0
    for _ in range(50_000):
        clock.now += 1 / 5000
        refused += buckets.take("bench-rms") > 0
    assert refused == 0


def test_address_buckets_stay_bounded() -> None:
    """An attacker spreading failures over many addresses cannot grow the table without end."""
    buckets = TokenBuckets(1, 3, clock=FakeClock())
    for n in range(30_000):
        buckets.take(f"198.51.{n // 256}.{n % 256}")
    assert len(buckets._buckets) <= MAX_KEYS


# Standard Webhooks, as the RMS simulator verifies maitred's deliveries.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOKEN = "rms-sim-token-0123"


def _signed(body: bytes, msg_id: str = "msg_2Lqmn1cl8U3vAMqGdW4X0XbcXMn") -> dict[str, str]:
    at = datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(SECRET).sign(msg_id, at, body.decode()),
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
    }


def _malformed(body: bytes) -> dict[str, dict[str, str]]:
    good = _signed(body)
    old = int((datetime.now(UTC) - timedelta(minutes=10)).timestamp())
    variants: dict[str, dict[str, str]] = {
        "no webhook-id": {"webhook-id": ""},
        "no timestamp": {"webhook-timestamp": ""},
        "timestamp not a number": {"webhook-timestamp": "yesterday"},
        "timestamp huge": {"webhook-timestamp": "9" * 400},
        "timestamp negative": {"webhook-timestamp": "-1"},
        "timestamp float": {"webhook-timestamp": "1.5e9"},
        "timestamp outside tolerance": {"webhook-timestamp": str(old)},
        "no signature": {"webhook-signature": ""},
        "signature without version": {"webhook-signature": "c2lnbmF0dXJl"},
        "signature empty v1": {"webhook-signature": "v1,"},
        "signature not base64": {"webhook-signature": "v1,!!!not-base64!!!"},
        "signature wrong version": {
            "webhook-signature": good["webhook-signature"].replace("v1,", "v2,")
        },
        "signature 6 KB": {"webhook-signature": "v1," + "A" * 6_000},  # aiohttp: 400 past 8 KB
        "signature of another id": {"webhook-id": "msg_other"},
        "signature non-ascii": {"webhook-signature": "v1,\u00e9\u00e9"},
    }
    return {name: {**good, **change} for name, change in variants.items()}


async def test_malformed_standard_webhooks_headers_are_401_never_500(figure: Record) -> None:
    config = RmsConfig(token=TOKEN, signing_secret=SECRET, venue="rms-venue-1", quiet=True)
    body = json.dumps(fixture("rms_pos_order_event.json")).encode()
    async with SimClient(TestServer(build_app(config), host="127.0.0.1")) as client:
        sim = client.app[SIM_KEY]
        for name, headers in _malformed(body).items():
            headers = {k: v for k, v in headers.items() if v != ""}
            answer = await client.post("/webhooks/pos-order", data=body, headers=headers)
            assert answer.status == 401, (name, await answer.text())
            error = (await answer.json())["error"]
            assert error["code"] == 401, name
        tampered = await client.post("/webhooks/pos-order", data=body + b" ", headers=_signed(body))
        assert tampered.status == 401
        assert sim.checks == {}
        assert sim.seen_webhook_ids == set()
    figure(malformed=len(_malformed(body)) + 1, server_errors=0, effects=0)


async def test_a_replay_inside_the_tolerance_window_has_no_second_effect(figure: Record) -> None:
    config = RmsConfig(token=TOKEN, signing_secret=SECRET, venue="rms-venue-1", quiet=True)
    body = json.dumps(fixture("rms_pos_order_event.json")).encode()
    headers = _signed(body)
    async with SimClient(TestServer(build_app(config), host="127.0.0.1")) as client:
        sim = client.app[SIM_KEY]
        answers = [
            await client.post("/webhooks/pos-order", data=body, headers=headers) for _ in range(5)
        ]
        resigned = _signed(body)  # the sender's retry: same id, new timestamp and signature
        answers.append(await client.post("/webhooks/pos-order", data=body, headers=resigned))
        statuses = [a.status for a in answers]
        history = copy.deepcopy({k: v.events for k, v in sim.checks.items()})
    assert statuses == [200] * 6
    assert history == {next(iter(history)): 1}  # one check, one event applied
    assert [e.duplicate for e in sim.events] == [False] + [True] * 5
    figure(replays=5, effects=1)


def test_an_oversized_token_on_a_real_socket_is_refused_not_a_server_error(
    settings: Settings, figure: Record
) -> None:
    """Through uvicorn: a 1 MB header is refused by the header limit, an 8 KB token by auth."""
    statuses = {}
    with serve(settings) as live, httpx.Client(base_url=live.base_url) as http:
        for size in (8_000, 1_048_576):
            token = "k" * size
            answer = http.post("/rms", json={}, headers=bearer(token))
            statuses[size] = answer.status_code
    assert statuses[8_000] == 401
    assert statuses[1_048_576] == 431
    figure(statuses=statuses, server_errors=0)
