"""The edge against a stranger on a real socket: a request head past the documented limit is
refused with 431 before anything reads it (not even uvicorn's parser buffers it whole), while a
large body read together with its head is not taken for a head; traces keep headers truncated
like bodies, traffic without a valid key cannot grow the trace table without bound, a body
shorter than its Content-Length is never processed, and a client that stalls is cut off after
`MAITRED_REQUEST_READ_SECONDS` with nothing it sent processed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.monitoring.middleware import DISCONNECTED
from maitred.monitoring.models import Trace
from maitred.security import SecretBox
from tests.conftest import ADMIN_TOKEN
from tests.factories import POS_KEY, RMS_KEY, SEED_VENUE, bearer, fixture, open_hub, seed_world
from tests.reliability.conftest import Record
from tests.reliability.live import changed_rows, dump, serve, serve_process
from tests.reliability.procs import wait_for

MB = 1024 * 1024
TABLES = f"/venues/{SEED_VENUE}/pos-tables"


def _status(answer: bytes) -> int | None:
    """The status code of a raw HTTP/1.1 answer, None when nothing came back."""
    line = answer.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else None


def _complete(answer: bytes) -> bool:
    head, found, body = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def exchange(port: int, request: Iterator[bytes], *, timeout: float = 60) -> tuple[bytes, int]:
    """Send `request` chunk by chunk on one connection while reading the answer (a server may
    answer and close before the client is done sending); (answer, bytes the server took)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sent = 0

    def pump() -> None:
        nonlocal sent
        with suppress(OSError):
            for chunk in request:
                sock.sendall(chunk)
                sent += len(chunk)

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    answer = b""
    with suppress(OSError):
        while not _complete(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    sock.close()
    sender.join(timeout)
    return answer, sent


def huge_header(path: str, size: int) -> Iterator[bytes]:
    """A GET whose one header value is `size` bytes, sent 64 KB at a time."""
    yield f"GET {path} HTTP/1.1\r\nHost: hub\r\nX-Filler: ".encode()
    block = b"a" * 65536
    for _ in range(size // len(block)):
        yield block
    yield b"\r\n\r\n"


def _stored_header_bytes(settings: Settings) -> int:
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session:
        rows = session.scalars(select(Trace.request_headers)).all()
    engine.dispose()
    return sum(len(json.dumps(row)) for row in rows if row)


def test_a_32_mb_header_is_refused_with_431_before_it_is_read(
    settings: Settings, tmp_path: Path, figure: Record
) -> None:
    """Against `maitred serve` itself: its uvicorn options and HTTP parser decide what is read
    before the app sees anything."""
    with serve_process(settings, tmp_path / "serve.log") as hub:
        peak_before = hub.memory()
        answer, _ = exchange(hub.port, huge_header(TABLES, 32 * MB))
        peak_growth = hub.memory() - peak_before
        alive, _ = exchange(hub.port, iter([b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n"]))
    stored = _stored_header_bytes(settings)
    figure(
        header_mb=32, status=_status(answer), peak_rss_growth_mb=round(peak_growth / MB, 1),
        stored_header_bytes=stored,
    )  # fmt: skip
    assert _status(answer) == 431, answer[:300]
    error = json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
    assert error["code"] == 431
    assert "headers" in error["details"]
    assert _status(alive) == 200
    assert peak_growth < 8 * MB  # the 32 MB were never held (it was ~70 MB before)
    assert stored < 64 * 1024


def test_the_header_limit_is_a_setting_and_holds_on_the_socket_and_in_the_app(
    settings: Settings, tmp_path: Path
) -> None:
    """Just under `MAITRED_MAX_HEADER_BYTES` is read (401: no key); just over is 431, both from
    `maitred serve` and from the app under any other server."""
    limit = 4096
    under, over = b"a" * (limit - 300), b"a" * (limit + 300)
    with serve_process(
        settings, tmp_path / "serve.log", MAITRED_MAX_HEADER_BYTES=str(limit)
    ) as hub:
        for filler, status in ((under, 401), (over, 431)):
            head = f"GET {TABLES} HTTP/1.1\r\nHost: hub\r\nX-Filler: ".encode()
            answer, _ = exchange(hub.port, iter([head + filler + b"\r\n\r\n"]))
            assert _status(answer) == status, answer[:300]
    with open_hub(settings.model_copy(update={"max_header_bytes": limit})) as app:
        assert app.client.get(TABLES, headers={"X-Filler": under.decode()}).status_code == 401
        refused = app.client.get(TABLES, headers={"X-Filler": over.decode()})
        assert refused.status_code == 431
        assert refused.json()["error"]["code"] == 431


def test_traced_headers_are_truncated_like_bodies(settings: Settings, figure: Record) -> None:
    headers = bearer(RMS_KEY) | {f"x-filler-{n}": "h" * 400 for n in range(30)}  # 12 KB
    with open_hub(settings) as hub:
        assert hub.client.get(TABLES, headers=headers).status_code == 200
        hub.stop()
        [row] = hub.rows("traces")
    stored = row["request_headers"]
    stored = json.loads(stored) if isinstance(stored, str) else stored
    size = len(json.dumps(stored))
    figure(sent_header_bytes=sum(len(k) + len(v) for k, v in headers.items()), stored=size)
    assert size <= settings.trace_body_limit + 200
    assert stored["authorization"] == "[redacted]"


def _flood(hub: Any, requests: int) -> dict[int, int]:
    """`requests` calls without a valid key: none, a wrong one, an unknown path; 10 KB of
    headers and a 50 KB body each. Their statuses, counted."""
    statuses: dict[int, int] = {}
    filler = {"x-filler": "f" * 10_000}
    body = {"padding": "p" * 50_000}
    for n in range(requests):
        kind = n % 3
        if kind == 0:
            answer = hub.client.post("/rms", json=body, headers=filler)
        elif kind == 1:
            answer = hub.client.post("/rms", json=body, headers=filler | bearer(f"wrong-{n:014}"))
        else:
            answer = hub.client.post(f"/nowhere/{n}", json=body, headers=filler)
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
    return statuses


def test_traffic_without_a_valid_key_cannot_grow_the_trace_table_without_bound(
    settings: Settings, figure: Record
) -> None:
    keep = 40
    bounded = settings.model_copy(update={"unauthenticated_trace_keep": keep})
    with open_hub(bounded) as hub:
        statuses = _flood(hub, 600)
        booking = fixture("rms_reservation_seated.json")
        assert hub.client.post("/rms", json=booking, headers=bearer(RMS_KEY)).status_code == 200
        hub.stop()
        rows = hub.rows("traces")
    strangers = [r for r in rows if r["partner_id"] is None]
    stored = sum(
        len(r["url"]) + len(r["request_body"] or "") + len(r["response_body"] or "")
        + len(json.dumps(r["request_headers"])) for r in strangers
    )  # fmt: skip
    figure(requests=600, statuses=statuses, traces_kept=len(strangers), stored_bytes=stored)
    assert len(strangers) <= keep
    assert stored <= keep * 3 * settings.trace_body_limit
    assert all(r["request_body"] is None or len(r["request_body"]) < 100 for r in strangers)
    [partner] = [r for r in rows if r["partner_id"] == "rms-a"]  # a partner's call is kept whole
    assert booking["bookingId"] in partner["request_body"]


def _short_requests() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, key, a valid body) for an admin write (untraced: sent first, so it has
    been handled once the partner writes' traces are in) and a partner write of each kind."""
    return [
        ("PUT", "/admin/partners/newcomer", ADMIN_TOKEN, {"kind": "rms"}),
        ("POST", "/rms", RMS_KEY, fixture("rms_reservation_seated.json")),
        ("POST", "/v1/pos/pos-venue-1/order", POS_KEY, fixture("pos_order_open.json")),
    ]


def _send_short(port: int, method: str, path: str, key: str, body: bytes, cid: str) -> None:
    """Announce 50 bytes more than `body`, send `body`, wait, then hang up."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body) + 50}\r\n"
        f"X-Correlation-Id: {cid}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        time.sleep(0.3)  # the body has been read by then; the rest never comes


def test_a_body_shorter_than_its_content_length_is_never_processed(
    settings: Settings, figure: Record
) -> None:
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
    before = dump(engine)
    cids = []
    with serve(settings) as hub:
        port = int(hub.base_url.rsplit(":", 1)[1])
        for n, (method, path, key, body) in enumerate(_short_requests()):
            cid = f"short-body-{n}"
            _send_short(port, method, path, key, json.dumps(body).encode(), cid)
            if not path.startswith("/admin"):
                cids.append(cid)

        def traced() -> bool:
            with Session(engine) as session:
                found = select(func.count()).where(Trace.correlation_id.in_(cids))
                return session.scalar(found) == len(cids)

        wait_for(traced, timeout=30, what="the short requests' traces")
    with Session(engine) as session:
        statuses = session.scalars(
            select(Trace.status_code).where(Trace.correlation_id.in_(cids))
        ).all()
    changed = changed_rows(before, dump(engine))
    engine.dispose()
    figure(
        short_bodies=len(_short_requests()),
        statuses=sorted(map(str, statuses)),
        rows_changed=changed,
    )
    assert changed == 0
    assert all(status is None or status >= 400 for status in statuses), statuses


def test_a_large_body_read_with_its_head_is_answered_not_refused_431(
    settings: Settings, figure: Record
) -> None:
    """The head limit counts the head alone: a POS order of about 40 KB written in one piece
    with its head (so the hub mostly reads both at once) is applied. It was answered 431 two
    times out of three: the read was counted as the next request's head."""
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
    engine.dispose()
    order = fixture("pos_order_open.json")
    order["checks"][0]["items"] = [
        {"id": n, "name": f"Steak, medium rare, no sauce {n}", "price": 40.0, "quantity": 1}
        for n in range(450)
    ]
    body = json.dumps(order).encode()
    head = (
        "POST /v1/pos/pos-venue-1/order HTTP/1.1\r\nHost: hub\r\n"
        f"Authorization: Bearer {POS_KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with serve(settings) as hub:
        port = int(hub.base_url.rsplit(":", 1)[1])
        answer, _ = exchange(port, iter([head + body]))
    figure(body_kb=len(body) // 1024, status=_status(answer))
    assert len(body) > 2 * settings.max_header_bytes
    assert _status(answer) == 200, answer[:300]


def _stall(port: int, sent: bytes) -> tuple[bytes, float]:
    """Send `sent` on a new connection, then nothing: (everything the hub answers until it
    closes the connection, seconds until it did). Fails if the connection is still open and
    silent after 30 s."""
    started = time.monotonic()
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        if sent:
            sock.sendall(sent)
        while chunk := sock.recv(65536):
            answer += chunk
    return answer, time.monotonic() - started


def _partner_writes() -> list[tuple[str, str, bytes]]:
    """(path, key, a valid body) of a booking and a POS order."""
    return [
        ("/rms", RMS_KEY, json.dumps(fixture("rms_reservation_seated.json")).encode()),
        ("/v1/pos/pos-venue-1/order", POS_KEY, json.dumps(fixture("pos_order_open.json")).encode()),
    ]


def _post_head(path: str, key: str, length: int, cid: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
        f"X-Correlation-Id: {cid}\r\n\r\n"
    ).encode()


def test_a_client_that_stalls_is_cut_off_and_nothing_it_sent_is_processed(
    settings: Settings, figure: Record
) -> None:
    """Slowloris: a connection that sends nothing, a head sent in part, and a valid partner
    write whose body stops short of its `Content-Length` are each closed by the hub once
    `request_read_seconds` have passed (the unfinished head answered 408 first), and none of the
    writes is processed; the same writes sent whole are. Without the read timer every one of
    these connections stayed open (and, past the head, kept an app task waiting) for ever."""
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
    before = dump(engine)
    # Short, yet long enough that a whole request sent at once never meets it on a busy machine
    read_seconds = 1.0
    quick = settings.model_copy(update={"request_read_seconds": read_seconds})
    cids = [f"stalled-body-{n}" for n in range(len(_partner_writes()))]
    with serve(quick) as hub:
        port = int(hub.base_url.rsplit(":", 1)[1])
        silent, silent_for = _stall(port, b"")
        partial, partial_for = _stall(port, b"POST /rms HTTP/1.1\r\nAuthorization: Bea")
        stalled = []
        for cid, (path, key, body) in zip(cids, _partner_writes(), strict=True):
            head = _post_head(path, key, len(body) + 1000, cid)
            stalled.append(_stall(port, head + body[: len(body) // 2]))

        def traced() -> bool:
            with Session(engine) as session:
                found = select(func.count()).where(Trace.correlation_id.in_(cids))
                return session.scalar(found) == len(cids)

        wait_for(traced, timeout=30, what="the stalled requests' traces")
        changed = changed_rows(before, dump(engine))
        whole = [
            exchange(port, iter([_post_head(path, key, len(body), f"whole-{n}") + body]))[0]
            for n, (path, key, body) in enumerate(_partner_writes())
        ]
    with Session(engine) as session:
        traces = session.execute(
            select(Trace.status_code, Trace.error).where(Trace.correlation_id.in_(cids))
        ).all()
    stored_whole = changed_rows(before, dump(engine))
    engine.dispose()
    figure(
        read_seconds=read_seconds, silent_closed_after_s=round(silent_for, 2),
        partial_head_status=_status(partial), partial_head_closed_after_s=round(partial_for, 2),
        stalled_bodies=len(stalled),
        stalled_body_closed_after_s=[round(seconds, 2) for _, seconds in stalled],
        rows_changed=changed, whole_statuses=[_status(answer) for answer in whole],
    )  # fmt: skip
    assert silent == b""  # closed, nothing said: there was no request to answer
    assert _status(partial) == 408, partial[:300]
    error = json.loads(partial.partition(b"\r\n\r\n")[2])["error"]
    assert error["code"] == 408
    assert "headers" in error["details"]
    assert [answer for answer, _ in stalled] == [b""] * len(stalled)
    assert changed == 0
    assert sorted(traces) == [(None, DISCONNECTED)] * len(cids)
    assert [_status(answer) for answer in whole] == [200] * len(whole)
    assert stored_whole > 0  # the same writes, sent whole, were processed


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_read_time_is_a_setting_of_maitred_serve(settings: Settings, tmp_path: Path) -> None:
    """`MAITRED_REQUEST_READ_SECONDS` reaches the protocol `maitred serve` runs: a head left
    unfinished is answered 408 and the connection closed, and a whole request still gets 200."""
    log = tmp_path / "serve.log"
    with serve_process(settings, log, MAITRED_REQUEST_READ_SECONDS="1") as hub:
        partial, _ = _stall(hub.port, b"GET /healthz HTTP/1.1\r\nHost: h")
        alive, _ = exchange(hub.port, iter([b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n"]))
    assert _status(partial) == 408, partial[:300]
    assert _status(alive) == 200
