"""Load generator, run as its own process so it does not share the server's interpreter:
`python -m bench.load URL [URL …] --key K --payload FILE …` prints one JSON summary on stdout.

Every request carries a fresh `bookingId`, so every request against the hub is a real write.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

PLACEHOLDER = "__BOOKING_ID__"


@dataclass
class Tally:
    """What the workers saw."""

    sent: int = 0
    ok_total: int = 0  # 2xx including warm-up: each one must be durable
    statuses: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # measured window only, seconds
    measured: int = 0


def _template(payload: Path) -> str:
    document = json.loads(payload.read_text())
    document["bookingId"] = PLACEHOLDER
    return json.dumps(document, separators=(",", ":"))


async def _worker(
    session: aiohttp.ClientSession,
    args: argparse.Namespace,
    template: str,
    tally: Tally,
    worker: int,
    window: tuple[float, float],
) -> None:
    headers = {"Authorization": f"Bearer {args.key}", "Content-Type": "application/json"}
    start_measure, end = window
    n = 0
    while tally.sent < args.max_requests and time.perf_counter() < end:
        tally.sent += 1
        n += 1
        body = template.replace(PLACEHOLDER, f"{args.prefix}-{worker}-{n}").encode()
        began = time.perf_counter()
        try:
            url = args.url[worker % len(args.url)]  # several servers: connections spread
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                status = str(response.status)
        except aiohttp.ClientError as exc:
            status = type(exc).__name__
        done = time.perf_counter()
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        if status.startswith("2"):
            tally.ok_total += 1
        if began >= start_measure:
            tally.measured += 1
            tally.latencies.append(done - began)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Drive the target for `warmup + duration` seconds or `max_requests`, whichever is first."""
    template = _template(Path(args.payload))
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=args.connections, force_close=False)
    began = time.perf_counter()
    window = (began + args.warmup, began + args.warmup + args.duration)
    async with aiohttp.ClientSession(connector=connector) as session:
        workers = [
            _worker(session, args, template, tally, i, window) for i in range(args.connections)
        ]
        await asyncio.gather(*workers)
    elapsed = max(time.perf_counter() - max(window[0], began), 1e-9)
    return {
        "connections": args.connections,
        "sent": tally.sent,
        "ok_total": tally.ok_total,
        "statuses": tally.statuses,
        "measured": tally.measured,
        "seconds": round(elapsed, 3),
        "rps": round(tally.measured / elapsed, 1),
        "p50_ms": round(_percentile(tally.latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(tally.latencies, 0.99) * 1000, 2),
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", nargs="+")
    parser.add_argument("--key", required=True)
    parser.add_argument("--payload", required=True)
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    args = parser.parse_args(argv)
    import uvloop  # ships with uvicorn[standard]; the servers use it too

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        json.dump(runner.run(run(args)), sys.stdout)


if __name__ == "__main__":
    main()
