"""A partner receiver for the delivery benchmarks: answers 200 at once, counts what it got and
checks per-key order (`python -m bench.receiver PORT`).

Each body may carry `key` (the ordering key) and `seq` (its position among that key's events);
a body whose `seq` is lower than one already seen for its key arrived out of order. The counts
are served at `GET /counts`; `first_at`/`last_at` are `time.monotonic()` readings, which on Linux
share one clock with every other process, so the benchmark can compare them with its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import uvloop
from aiohttp import web


@dataclass
class Counts:
    """What the receiver has seen so far."""

    received: int = 0
    unkeyed: int = 0  # bodies without a usable key/seq (not order-checked)
    out_of_order: int = 0  # an older seq after a newer one for the same key
    repeats: int = 0  # the same seq again for a key (a redelivery: allowed, at-least-once)
    first_at: float | None = None
    last_at: float | None = None
    last_seq: dict[str, int] = field(default_factory=dict)

    def record(self, body: bytes) -> None:
        """Count one request body and check its key's order."""
        at = time.monotonic()
        self.received += 1
        self.first_at = at if self.first_at is None else self.first_at
        self.last_at = at
        key, seq = _key_and_seq(body)
        if key is None or seq is None:
            self.unkeyed += 1
            return
        seen = self.last_seq.get(key)
        if seen is not None and seq < seen:
            self.out_of_order += 1
            return  # keep the newest seen: later arrivals are judged against it
        if seen == seq:
            self.repeats += 1
        self.last_seq[key] = seq

    def summary(self) -> dict[str, Any]:
        """The counts as JSON (the per-key table reduced to its size)."""
        document = asdict(self)
        document["keys"] = len(document.pop("last_seq"))
        return document


def _key_and_seq(body: bytes) -> tuple[str | None, int | None]:
    try:
        document = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    key, seq = document.get("key"), document.get("seq")
    if not isinstance(key, str) or not isinstance(seq, int):
        return None, None
    return key, seq


def make_app() -> web.Application:
    """The receiver: POST /hook, GET /counts, GET /healthz."""
    counts = Counts()

    async def hook(request: web.Request) -> web.Response:
        counts.record(await request.read())
        return web.Response(text="ok")

    async def report(_request: web.Request) -> web.Response:
        return web.json_response(counts.summary())

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/counts", report)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    """Serve on 127.0.0.1:PORT until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    args = parser.parse_args()
    # uvloop keeps the receiver's own CPU small: it shares two cores with the sender under test.
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    web.run_app(
        make_app(), host="127.0.0.1", port=args.port, print=None, access_log=None, loop=loop
    )


if __name__ == "__main__":
    main()
