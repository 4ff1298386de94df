"""How a hub runs under uvicorn (`maitred serve`, and the tests' live hubs): the request head
bounded before anything keeps it, a request bounded in the time it takes to arrive, an answer's
head and body sent in one write, and the client address taken from `X-Forwarded-For` only when
the operator names the proxies allowed to set it."""

from __future__ import annotations

import asyncio
import functools
import json
from http import HTTPStatus
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from maitred.config import Settings
from maitred.errors import MaitredError, RequestTimeout, field_details
from maitred.monitoring.middleware import head_size, headers_too_large

# After a 431 or a 408 the connection keeps reading (and dropping) what the client still sends,
# so it reads the answer instead of a reset; this long at most.
LINGER_SECONDS = 2.0
# The raw bytes of a head also hold the method, the protocol version and line ends, which
# `head_size` leaves out: the early check allows for them and the exact check decides.
_LINE_SLACK = 64


class OneWriteTransport:
    """The transport a response is written through: its head is held until its body comes and
    both leave in one `write`, so a small answer costs one send (one syscall, one TCP segment)
    instead of two. uvicorn writes the head as soon as the app starts the response; the app's
    body follows in the same step for every route of the hub, and a head still held when the
    loop comes round again is sent alone, so nothing waits longer than one loop iteration.
    The two sends were the costliest single line of `POST /rms` (docs/decisions/0034)."""

    __slots__ = ("_held", "_loop", "_started", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._started = False  # the first write (the head, or a 100 Continue) was seen

    def write(self, data: bytes) -> None:
        """Hold the first write for one loop iteration; send it with the next."""
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif not self._started:
            self._started = True
            self._held = data
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Send what is held (a head whose body did not follow in the same step)."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def is_closing(self) -> bool:
        """Whether the connection is closing."""
        return self._transport.is_closing()

    def close(self) -> None:
        """Send what is held, then close."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head bounded to `max_head` bytes and each
    request to `read_seconds` of arriving.

    llhttp hands a header to Python only once its value is complete, so a 32 MB header would
    be buffered whole before anyone could look at it: the head is measured on the bytes as
    they arrive instead, and answered 431 and closed as soon as it passes the limit.

    uvicorn's keep-alive timeout only runs between an answer and the next request's first
    byte: a client that sends nothing, trickles a head, or announces a body and stalls would
    hold its connection (and, past the head, an app task waiting in `receive()`) for ever.
    A timer runs from the connection's start, or from the next request's first byte, until the
    request has arrived whole. When it fires on an unfinished head the answer is 408 and the
    connection closes; on silence or an unfinished body the connection just closes (the app
    then receives `http.disconnect`: the edge processes nothing and traces the disconnect).
    """

    def __init__(self, *args: Any, max_head: int, read_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head = max_head
        self.read_seconds = read_seconds
        self._head_open = True  # the bytes fed next belong to a request head
        self._head_ended = False  # a head was completed (and measured exactly) in this read
        self._head_begun = False  # a head's first byte came and its end has not
        self._head_bytes = 0
        self._refused = False
        # One timer per connection, not one per request: a request sets its deadline (a float)
        # and clears it once whole, and the timer, when it fires, looks at the deadline then.
        self._read_deadline: float | None = None
        self._read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """A new connection: its first request's time runs from now."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Nothing left to time."""
        self._disarm()
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser; count what a still-unfinished head has taken."""
        if self._refused:
            return  # lingering: dropped
        counted = self._head_open
        self._head_ended = False
        super().data_received(data)
        # A read in which a head ended holds that head's body too (a whole small request
        # arrives in one read): the head's exact size was checked when it ended, and a head
        # that began after the body is counted from the next read on.
        if not self._refused and counted and self._head_open and not self._head_ended:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head + _LINE_SLACK:
                self._refuse(headers_too_large(self.max_head))

    def on_message_begin(self) -> None:
        """A new request: its head starts empty, and its time runs unless it already does (the
        first request's since the connection began)."""
        super().on_message_begin()
        self._head_bytes = 0
        self._head_begun = True
        if self._read_deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        """Refuse a head over the limit before uvicorn builds the request for the app."""
        self._head_open = False
        self._head_ended = True
        self._head_begun = False
        if head_size(self.url, self.headers) > self.max_head:
            self._refuse(headers_too_large(self.max_head))
            return
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not before:  # a request's cycle was made
            one_write = OneWriteTransport(self.transport, self.loop)
            self.cycle.transport = cast(asyncio.Transport, one_write)

    def on_body(self, body: bytes) -> None:
        """Body bytes, unless the request was refused."""
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        """The request ended, in time; what follows is the next request's head."""
        self._head_open = True
        self._disarm()
        if not self._refused:
            super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        """The connection is the WebSocket protocol's from here: no request left to time."""
        self._disarm()
        super().handle_websocket_upgrade()

    def _arm(self) -> None:
        """The request's time runs from now; the connection's timer is set if none is."""
        self._read_deadline = self.loop.time() + self.read_seconds
        if self._read_timer is None:
            self._read_timer = self.loop.call_at(self._read_deadline, self._read_timed_out)

    def _disarm(self) -> None:
        """Nothing to time until the next request begins (the timer, if it fires, finds so)."""
        self._read_deadline = None

    def _read_timed_out(self) -> None:
        """The request did not arrive whole in time: 408 for an unfinished head, else close."""
        self._read_timer = None
        deadline = self._read_deadline
        if deadline is None or self._refused or self.transport.is_closing():
            return
        if self.loop.time() < deadline:  # a later request's time: wait for its deadline
            self._read_timer = self.loop.call_at(deadline, self._read_timed_out)
            return
        if self._hub_is_behind():
            self._arm()  # the client is not the one holding things up: look again later
        elif self._head_begun:
            self._refuse(head_timed_out(self.read_seconds))
        else:
            # Nothing sent, or a body still owed: no request to answer, or an app waiting in
            # receive(), which gets http.disconnect once the connection is lost.
            self.transport.close()

    def _hub_is_behind(self) -> bool:
        """Whether the hub, not the client, is what the request waits on: an earlier answer on
        this connection still being written (a 408 now would land inside it), reading paused
        (a pipelined request waiting its turn, a body the app has not taken yet), or a
        `100 Continue` the app has not asked for yet."""
        cycle = self.cycle
        if cycle is not None and self._head_begun and not cycle.response_complete:
            return True
        waiting = cycle is not None and not self._head_begun and cycle.waiting_for_100_continue
        return self.flow.read_paused or waiting

    def _refuse(self, error: MaitredError) -> None:
        """Answer `error` and close: what the client still sends is read and dropped for a
        while, so it reads the answer instead of a reset."""
        self._refused = True
        self._disarm()
        body = json.dumps(error.to_body()).encode()
        status = HTTPStatus(error.status_code)
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


def head_timed_out(seconds: float) -> RequestTimeout:
    """The 408 for a request head not arrived whole within `seconds`."""
    message = f"The request line and headers did not arrive whole within {seconds:g} seconds."
    return RequestTimeout(details=field_details("headers", message))


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` serving a hub on `settings`."""
    protocol = functools.partial(
        BoundedHttpToolsProtocol,
        max_head=settings.max_header_bytes,
        read_seconds=settings.request_read_seconds,
    )
    proxies = settings.forwarded_allow_ips
    return {
        "http": cast(type[asyncio.Protocol], protocol),
        "loop": "uvloop",
        # uvicorn trusts X-Forwarded-For from 127.0.0.1 unless told otherwise: off unless the
        # operator names the proxies, so a client cannot pick the address its limits count.
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies) if proxies else None,
        "access_log": False,
        "log_level": settings.log_level,
    }
