"""SSRF: partner URLs aimed inside the operator's network are refused when maitred connects
(after DNS, so names and rebinding are covered), redirects are never followed, loopback only
where allowed. Listeners sit where the forbidden forms lead and count accepted connections."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import TCPConnector
from aiohttp.abc import AbstractResolver, ResolveResult
from fastapi.testclient import TestClient
from sqlalchemy import select

from maitred.api.app import create_app
from maitred.config import Settings
from maitred.connectors import fetch
from maitred.monitoring.models import Trace
from maitred.netguard import NetPolicy
from maitred.runtime import Runtime
from maitred.transport import make_session
from tests.conftest import ADMIN_TOKEN
from tests.deliveries.helpers import (
    add_partner,
    delivery,
    dispatching,
    enqueue,
    runtime_with,
    state_of,
    wait_until,
)
from tests.reliability.conftest import Record

SRC = Path(__file__).resolve().parents[2] / "src" / "maitred"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class Listener:
    """A TCP listener that counts the connections it accepts and answers each request with
    `answer` (an HTTP/1.1 status line and headers; the body is empty)."""

    host: str = "127.0.0.1"
    answer: str = "200 OK"
    extra: dict[str, str] = field(default_factory=dict)
    accepted: int = 0
    port: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            head = "".join(f"{k}: {v}\r\n" for k, v in self.extra.items())
            reply = (
                f"HTTP/1.1 {self.answer}\r\n{head}Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            writer.write(reply.encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def listening(
    host: str = "127.0.0.1", answer: str = "200 OK", **extra: str
) -> AsyncIterator[Listener]:
    """A started listener on a free port of `host`."""
    listener = Listener(host=host, answer=answer, extra=extra)
    server = await asyncio.start_server(listener._serve, host, 0)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        server.close()
        await server.wait_closed()


class StaticResolver(AbstractResolver):
    """DNS as the test says: every name resolves to `self.address` (changeable: rebinding)."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=self.address,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


# Forms that lead to a listener on 127.0.0.1 (port filled in): literal, names, mapped, legacy.
LOOPBACK_FORMS = [
    "http://127.0.0.1:{port}/hook",
    "http://localhost:{port}/hook",  # a name resolving to loopback
    "http://[::ffff:127.0.0.1]:{port}/hook",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]:{port}/hook",  # the same, in hex
    "http://0x7f.0.0.1:{port}/hook",  # a legacy spelling the resolver turns into 127.0.0.1
]
# Forms no listener can be placed at here: they must be refused before any packet is sent.
UNREACHABLE_FORMS = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fd00:ec2::254]/latest/meta-data/",  # cloud metadata over IPv6
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://0.0.0.0:{port}/hook",  # unspecified (Linux would deliver it to loopback)
    "http://224.0.0.1/hook",  # multicast
    "http://[::ffff:10.0.0.1]/hook",  # IPv4-mapped private
    "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
    "http://[2002:a00:1::1]/hook",  # 6to4 of 10.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/hook",  # Teredo, client 10.0.0.1
    "http://[fe80::1]/hook",  # IPv6 link-local
    "http://[::]:{port}/hook",  # IPv6 unspecified
]


async def _deliver_everywhere(runtime: Runtime, urls: list[str]) -> list[int]:
    ids = []
    for index, url in enumerate(urls):
        partner = await add_partner(runtime, webhook_url=url, partner_id=f"ssrf-{index}")
        ids.append(await enqueue(runtime, partner, {"type": "ping", "n": index}))
    return ids


def _trace_errors(runtime: Runtime, delivery_id: int) -> list[str]:
    with runtime.db.read_sessions() as session:
        rows = session.scalars(select(Trace.error).where(Trace.delivery_id == delivery_id))
        return [e or "" for e in rows]


async def test_forbidden_addresses_are_refused_at_connect_time(
    settings: Settings, figure: Record
) -> None:
    v6 = "::1" if _has_ipv6_loopback() else "127.0.0.1"
    async with listening() as listener, listening(v6) as listener6:
        forms = [u.format(port=listener.port) for u in LOOPBACK_FORMS + UNREACHABLE_FORMS]
        forms.append(f"http://[::1]:{listener6.port}/hook")
        async with runtime_with(settings, allow_loopback=False) as runtime:
            ids = await _deliver_everywhere(runtime, forms)
            async with dispatching(runtime):
                await wait_until(
                    lambda: all(state_of(runtime, i) == "failed" for i in ids),
                    what="every delivery to a forbidden address failed",
                )
            reasons = [delivery(runtime, i).last_error or "" for i in ids]
            traced = [_trace_errors(runtime, i) for i in ids]
            attempts = sum(delivery(runtime, i).attempts for i in ids)
    assert listener.accepted == 0
    assert listener6.accepted == 0
    for url, reason, errors in zip(forms, reasons, traced, strict=True):
        assert "refused:" in reason, (url, reason)
        assert errors, url
        assert all("refused:" in e for e in errors), (url, errors)
    figure(forms=len(forms), attempts=attempts, connections_reached=0)


async def test_the_same_listeners_are_reached_when_loopback_is_allowed(
    settings: Settings, figure: Record
) -> None:
    """The control: with loopback allowed the loopback forms do reach the listener, so the
    zero above means refused, not misplaced."""
    async with listening() as listener:
        forms = [u.format(port=listener.port) for u in LOOPBACK_FORMS]
        async with runtime_with(settings, allow_loopback=True) as runtime:
            ids = await _deliver_everywhere(runtime, forms)
            async with dispatching(runtime):
                await wait_until(lambda: all(state_of(runtime, i) == "delivered" for i in ids))
    assert listener.accepted == len(forms)
    figure(forms=len(forms), connections_reached=listener.accepted)


def _call(label: str = "POS tables") -> fetch.Call:
    return fetch.Call(
        partner_id="p", venue_id=None, token="t0k", label=label, timeout=5, max_bytes=1000,
        trace_limit=100,
    )  # fmt: skip


async def test_read_throughs_refuse_names_that_resolve_to_forbidden_addresses(
    figure: Record,
) -> None:
    """The table and order read-throughs share the guarded session; a name whose DNS answer
    changes (rebinding) is judged on each new connection, not on its spelling."""
    async with listening("127.0.0.2") as allowed, listening() as forbidden:
        dns = StaticResolver("127.0.0.2")
        settings = Settings(allowed_networks=["127.0.0.2/32"])
        async with make_session(settings, resolver=dns) as http:
            first = await fetch.get(http, f"http://pos.example:{allowed.port}/t", _call())
            dns.address = "127.0.0.1"  # the name now points at loopback
            assert isinstance(http.connector, TCPConnector)
            http.connector.clear_dns_cache()
            url = f"http://pos.example:{forbidden.port}/t"
            second = await fetch.get(http, url, _call())
    assert first.status == 200
    assert first.error is None
    assert allowed.accepted == 1
    assert forbidden.accepted == 0
    assert second.error is not None
    assert "refused: 127.0.0.1 is loopback" in second.error.message
    assert second.trace.error == second.error.message
    assert second.trace.outcome == "failed"
    figure(forms=2, connections_reached=forbidden.accepted)


@pytest.mark.parametrize(
    "answer", ["302 Found", "307 Temporary Redirect", "308 Permanent Redirect"]
)
async def test_redirects_are_not_followed(settings: Settings, answer: str, figure: Record) -> None:
    async with listening() as target, listening(answer=answer, Location="") as redirector:
        redirector.extra["Location"] = f"http://127.0.0.1:{target.port}/hook"
        url = f"http://127.0.0.1:{redirector.port}/hook"
        async with runtime_with(settings, allow_loopback=True) as runtime:
            partner = await add_partner(runtime, webhook_url=url)
            delivery_id = await enqueue(runtime, partner, {"type": "ping"})
            async with dispatching(runtime):
                await wait_until(lambda: state_of(runtime, delivery_id) == "failed")
            http = await runtime.open_http()
            fetched = await fetch.get(http, url, _call())
    assert redirector.accepted == 2  # the delivery's one attempt and the read-through
    assert target.accepted == 0
    assert fetched.status == int(answer[:3])
    assert fetched.error is not None
    figure(redirects=2, connections_reached=target.accepted)


FORBIDDEN_LITERALS = [
    ("webhook_url", "http://169.254.169.254/latest/meta-data/"),
    ("webhook_url", "http://[fd00:ec2::254]/"),
    ("base_url", "http://10.1.2.3:8080"),
    ("base_url", "http://[::ffff:192.168.0.1]/"),
    ("webhook_url", "http://[64:ff9b::a9fe:a9fe]/"),  # NAT64 of the metadata address
    ("webhook_url", "http://0.0.0.0/"),
    ("base_url", "http://0x7f.1/"),
]


def test_registering_a_forbidden_literal_is_refused_naming_the_field(
    settings: Settings, figure: Record
) -> None:
    closed = settings.model_copy(update={"allow_loopback": False})
    with TestClient(create_app(closed)) as client:
        for name, url in FORBIDDEN_LITERALS:
            body: dict[str, Any] = {"kind": "rms", name: url}
            put = client.put("/admin/partners/bad", json=body, headers=ADMIN)
            assert put.status_code == 400, (url, put.text)
            assert name in put.json()["error"]["details"], put.text
            doc = {"partners": [{"id": "bad", **body}]}
            applied = client.post("/admin/apply", json=doc, headers=ADMIN)
            assert applied.status_code == 400
            assert f"partners[0].{name}" in applied.json()["error"]["details"], applied.text
        assert client.get("/admin/partners", headers=ADMIN).json() == []
        names = client.put(
            "/admin/partners/ok", json={"kind": "rms", "webhook_url": "https://pos.example/h"},
            headers=ADMIN,
        )  # fmt: skip
        assert names.status_code == 201  # names are judged when connecting
    figure(forms=len(FORBIDDEN_LITERALS), stored=0)


def test_allowed_networks_and_loopback_are_accepted_when_configured(settings: Settings) -> None:
    trusting = settings.model_copy(update={"allowed_networks": ["10.1.0.0/16"]})
    with TestClient(create_app(trusting)) as client:
        for index, url in enumerate(["http://10.1.2.3:8080", "http://127.0.0.1:9000/h"]):
            body = {"kind": "pos", "base_url": url}
            answer = client.put(f"/admin/partners/p{index}", json=body, headers=ADMIN)
            assert answer.status_code == 201, answer.text
        metadata = {"kind": "pos", "base_url": "http://169.254.169.254/"}
        trusting_all = settings.model_copy(update={"allowed_networks": ["169.254.0.0/16"]})
        assert NetPolicy.from_settings(trusting_all).url_refusal(metadata["base_url"])
        assert client.put("/admin/partners/m", json=metadata, headers=ADMIN).status_code == 400


@pytest.mark.parametrize(
    ("address", "loopback", "refused"),
    [
        ("93.184.216.34", False, False),
        ("2606:4700::6810:85e5", False, False),
        ("64:ff9b::5db8:d822", False, False),  # NAT64 of a public address
        ("127.0.0.1", True, False),
        ("::1", True, False),
        ("::ffff:127.0.0.1", True, False),
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("::ffff:127.0.0.1", False, True),
        ("169.254.169.254", True, True),
        ("fe80::1%1", True, True),
        ("ff02::1", False, True),
        ("255.255.255.255", False, True),
        ("198.18.0.1", False, True),
        ("64:ff9b:1::1", False, True),
    ],
)
def test_policy_table(address: str, loopback: bool, refused: bool) -> None:
    assert (NetPolicy(allow_loopback=loopback).refusal(address) is not None) is refused


def test_every_outbound_session_is_the_guarded_one() -> None:
    """maitred's own code opens no HTTP session but `maitred.transport`'s (the simulators
    are partners, not maitred)."""
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "ClientSession(" in path.read_text()
        and path.parent.name != "simulators"
        and path.name != "transport.py"
    ]
    assert offenders == []


def test_allowed_networks_reads_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAITRED_ALLOWED_NETWORKS", "10.1.0.0/16, fd12::/48")
    monkeypatch.setenv("MAITRED_RETRY_SCHEDULE", "1,2,4")
    assert Settings().allowed_networks == ["10.1.0.0/16", "fd12::/48"]
    assert Settings().retry_schedule == [1.0, 2.0, 4.0]
    monkeypatch.setenv("MAITRED_ALLOWED_NETWORKS", "10.1.0.0/16,not-a-network")
    with pytest.raises(ValueError, match="not-a-network"):
        Settings()
