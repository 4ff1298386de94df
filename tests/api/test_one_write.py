"""An answer's head and body leave in one write (`api.serving.OneWriteTransport`), and a head
whose body does not follow in the same step is not held back past one loop iteration."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

import pytest

from maitred.api.serving import OneWriteTransport
from maitred.config import Settings
from tests.reliability.live import serve


class _Wire:
    """A stand-in transport that records each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return f"info:{name}"


def _one_write(wire: _Wire, loop: asyncio.AbstractEventLoop) -> OneWriteTransport:
    return OneWriteTransport(cast(asyncio.Transport, wire), loop)


async def test_head_and_body_written_in_the_same_step_leave_in_one_write() -> None:
    wire = _Wire()
    transport = _one_write(wire, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert wire.writes == []
    transport.write(b"{}")
    assert wire.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    await asyncio.sleep(0)  # the fallback flush finds nothing left to send
    transport.write(b"more")  # a later body chunk goes out as it comes
    assert wire.writes[1:] == [b"more"]


async def test_a_head_whose_body_is_late_is_sent_alone_at_the_next_iteration() -> None:
    wire = _Wire()
    transport = _one_write(wire, asyncio.get_running_loop())
    transport.write(b"HEAD")
    await asyncio.sleep(0)
    assert wire.writes == [b"HEAD"]
    transport.write(b"BODY")
    assert wire.writes == [b"HEAD", b"BODY"]


async def test_closing_sends_what_is_held_first() -> None:
    wire = _Wire()
    transport = _one_write(wire, asyncio.get_running_loop())
    transport.write(b"HEAD")
    transport.close()
    assert wire.writes == [b"HEAD"]
    assert wire.closed
    assert transport.is_closing()
    assert transport.get_extra_info("peername") == "info:peername"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_keep_alive_answers_arrive_whole_and_in_order(settings: Settings) -> None:
    """Two requests on one connection: each answer complete, head and body together."""
    with serve(settings) as hub, socket.create_connection(("127.0.0.1", _port(hub.base_url))) as s:
        request = b"GET /healthz HTTP/1.1\r\nhost: hub\r\n\r\n"
        s.sendall(request + request)
        received = b""
        while received.count(b'{"status":"ok"}') < 2:
            chunk = s.recv(65536)
            assert chunk, "the hub closed the connection"
            received += chunk
        answers = received.split(b"HTTP/1.1 200 OK\r\n")
        assert answers[0] == b""
        assert len(answers) == 3
        assert all(a.endswith(b'{"status":"ok"}') for a in answers[1:])


def _port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_answer_without_a_body_still_leaves(settings: Settings) -> None:
    """A HEAD answer has no body write to carry its head: the head leaves on its own."""
    with serve(settings) as hub, socket.create_connection(("127.0.0.1", _port(hub.base_url))) as s:
        s.settimeout(10)
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nhost: hub\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = s.recv(65536)
            assert chunk, "the hub closed the connection"
            received += chunk
        assert received.startswith(b"HTTP/1.1 ")
        assert received.endswith(b"\r\n\r\n")
