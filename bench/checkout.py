"""P7: the channel-order price round trip (docs/decisions/0016): a channel's `POST
/v1/channel/orders/price` → maitred's price webhook → the RBI POS simulator's callback → the
channel's answer, at 50 concurrent orders, against the 3 s at p99 the contract asks of a POS.

One `maitred serve` (SQLite, API + in-process worker) and the RBI POS simulator as its own
process. The baseline, measured in the same run by the same 50 clients, is the channel's plain
read of an order (`GET /v1/channel/orders/{id}`): the ratio says what the webhook and callback
add to a request that only reads.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import Row, free_port, hub_env, percentile, process, serving, wait_ready

CONCURRENCY = 50
TARGET_P99_MS = 3000.0  # contracts §2: the POS answers a price in < 3 s at p99
CHANNEL_KEY = "bench-channel-key-0123456789abcdef"
POS_KEY = "bench-pos-key-0123456789abcdef"
ADMIN = "bench-admin-token-0123456789abcdef"
STORE, POS_STORE = "4242", "pos-store-17"
PRICE_BODY: dict[str, Any] = {
    "storeId": STORE,
    "serviceMode": "TAKEOUT",
    "customer": {"name": "Ada L.", "email": "ada@example.com", "phone": "+34600000000"},
    "cart": {
        "menuSelections": [
            {"id": "entry_0", "externalReferenceId": "PLU-SUNDAE", "type": "Item", "quantity": 2}
        ]
    },
}


def _config(workdir: Path, pos_url: str) -> Path:
    path = workdir / "maitred.toml"
    path.write_text(
        f"""
[[partners]]
id = "web"
kind = "channel"
contract = "rbi"
api_key = "{CHANNEL_KEY}"

[[partners]]
id = "till"
kind = "pos"
contract = "rbi"
api_key = "{POS_KEY}"
token = "pos-token-abc"
webhook_url = "{pos_url}/webhooks"

[[venues]]
id = "burger-17"
currency = "EUR"
pos = {{ partner = "till", venue_id = "{POS_STORE}" }}
channel = {{ partner = "web", venue_id = "{STORE}" }}
"""
    )
    return path


def _pos_command(port: int, hub: str) -> list[str]:
    script = (
        "import asyncio\n"
        "from maitred.simulators.rbi_pos import RbiPosConfig, serve\n"
        f"config = RbiPosConfig(hub={hub!r}, hub_key={POS_KEY!r}, token='pos-token-abc',"
        f" venue={POS_STORE!r}, quiet=True)\n"
        f"asyncio.run(serve(config, '127.0.0.1', {port}))\n"
    )
    return [sys.executable, "-c", script]


async def _load(hub: str, per_client: int, request: Any) -> tuple[list[float], list[str], float]:
    """`CONCURRENCY` clients each sending `per_client` requests one after the other:
    (latencies in ms, what each answered, wall seconds)."""
    headers = {"Authorization": f"Bearer {CHANNEL_KEY}"}
    latencies: list[float] = []
    answers: list[str] = []
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def client(number: int) -> None:
            for n in range(per_client):
                started = time.perf_counter()
                status, body = await request(http, hub, headers, number * per_client + n)
                latencies.append((time.perf_counter() - started) * 1000)
                answers.append(body.get("data", {}).get("status", f"HTTP {status}"))

        began = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(CONCURRENCY)))
        return latencies, answers, time.perf_counter() - began


async def _price(
    http: aiohttp.ClientSession, hub: str, headers: dict[str, str], n: int
) -> tuple[int, Any]:
    body = PRICE_BODY | {"externalReferenceId": f"bench-{n}"}
    async with http.post(f"{hub}/v1/channel/orders/price", json=body, headers=headers) as answer:
        return answer.status, await answer.json(content_type=None)


def _reader(order_ids: list[str]) -> Any:
    async def read(
        http: aiohttp.ClientSession, hub: str, headers: dict[str, str], n: int
    ) -> tuple[int, Any]:
        url = f"{hub}/v1/channel/orders/{order_ids[n % len(order_ids)]}"
        async with http.get(url, headers=headers) as answer:
            return answer.status, await answer.json(content_type=None)

    return read


async def _ids(hub: str) -> list[str]:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{hub}/admin/venues/burger-17/channel-orders?limit=50", headers=headers) as r,
    ):
        page = await r.json()
    return [item["id"] for item in page["items"]]


def _summary(latencies: list[float], answers: list[str], wall: float) -> dict[str, Any]:
    return {
        "requests": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
        "per_second": round(len(latencies) / wall, 1),
        "answers": {a: answers.count(a) for a in sorted(set(answers))},
    }


def measure(per_client: int) -> dict[str, Any]:
    """Run the stack, the price load, then the same-run read baseline."""
    with tempfile.TemporaryDirectory(prefix="maitred-bench-") as tmp:
        workdir = Path(tmp)
        hub_port, pos_port = free_port(), free_port()
        hub, pos_url = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{pos_port}"
        env = hub_env(
            f"sqlite:///{workdir / 'checkout.db'}",
            workdir,
            admin_token=ADMIN,
            public_url=hub,
            channel_wait_seconds="10",
        )
        config = _config(workdir, pos_url)
        command = [sys.executable, "-m", "maitred", "serve", "--config", str(config)]
        command += ["--port", str(hub_port)]
        with (
            process(_pos_command(pos_port, hub), env, workdir / "pos.log") as pos,
            serving(command, env, f"{hub}/healthz", workdir / "hub.log"),
        ):
            wait_ready(f"{pos_url}/_sim/state", pos)
            asyncio.run(_load(hub, 1, _price))  # warm-up: connections, caches
            priced = _summary(*asyncio.run(_load(hub, per_client, _price)))
            ids = asyncio.run(_ids(hub))
            baseline = _summary(*asyncio.run(_load(hub, per_client, _reader(ids))))
    return {"price": priced, "read_baseline": baseline, "concurrency": CONCURRENCY}


def run(quick: bool = False) -> list[Row]:
    """P7 as a table row."""
    result = measure(2 if quick else 10)
    p99 = float(result["price"]["p99_ms"])
    base = float(result["read_baseline"]["p99_ms"])
    all_priced = result["price"]["answers"] == {"PRICED": result["price"]["requests"]}
    return [
        Row(
            id="P7",
            scenario=f"channel price round trip, {CONCURRENCY} concurrent (p99)",
            figure=p99,
            unit="ms",
            target=f"p99 <= {TARGET_P99_MS:.0f} ms, every order PRICED",
            passed=p99 <= TARGET_P99_MS and all_priced,
            share=TARGET_P99_MS / p99 if p99 else 0.0,
            baseline=base,
            ratio=round(p99 / base, 2) if base else None,
            details=result,
        )
    ]
