"""P4: 100,000 deliveries queued for a partner that was down, drained by one `maitred worker`
process when it comes back, coalescing on.

The queue: E entities (checks), each with a create and U full-state updates, enqueued round by
round (every check's create, then every check's first update, …) as `orders/events.py` does:
`ordering_key` = the check, `coalesce_key` = the check + ":update" on updates only. The rows are
bulk Core inserts of the values `deliveries.service.enqueue` writes, followed by the one
set-based UPDATE that gives the end state of its coalescing: each pending update that has a
newer update of the same entity is superseded by the next one. So when the worker starts, each
entity has its create and its newest update pending; the rest are already superseded.

What is counted: the drain rate is every queued delivery (all E * (1 + U), including the ones
coalescing superseded at enqueue) divided by the drain time, from the receiver's first request
(worker start-up excluded) until the database has nothing pending or in flight. All of them are
then delivered or superseded (checked; none failed). `details` also gives the send rate (the
deliveries actually sent per second). A drain not finished within the time that would meet the
target has failed it; the figure is then a projection at the observed send rate (`projected`).
Peak RSS is the worker's VmHWM read just before it is stopped. Per-key order: the receiver
counts any body whose `seq` is older than one it already got for that key.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import Row, free_port
from bench.outbound import (
    Hub,
    body,
    delivery_row,
    drain,
    insert_deliveries,
    receiver,
    seed,
    state_counts,
)

TARGET_RATE = 1_500.0  # queued deliveries settled per second
TARGET_RSS_MB = 300.0
VENUE = "v-bench"


@dataclass(frozen=True)
class Plan:
    """The size of the backlog: `entities` checks, each a create and `updates` updates."""

    entities: int = 20_000
    updates: int = 4

    @property
    def queued(self) -> int:
        """Deliveries queued in all."""
        return self.entities * (1 + self.updates)

    @property
    def timeout(self) -> float:
        """Seconds the drain may take: past queued / target it has missed the target anyway."""
        return self.queued / TARGET_RATE


def backlog(hub: Hub, plan: Plan, at: datetime) -> Iterator[dict[str, Any]]:
    """The queued deliveries in enqueue order: round 0 creates, rounds 1..U updates."""
    for seq in range(plan.updates + 1):
        for entity in range(plan.entities):
            key = f"check:{VENUE}:{entity}"
            coalesce = None if seq == 0 else key + ":update"  # creates must always arrive
            payload = body(key, seq, "create" if seq == 0 else "update")
            yield delivery_row(hub, payload, at, ordering_key=key, coalesce_key=coalesce)


def coalesce(hub: Hub, at: datetime) -> int:
    """What `enqueue` did to each older pending update when a newer one arrived: superseded,
    pointing at the next one. Returns how many were superseded."""
    from sqlalchemy import func, select, update
    from sqlalchemy.orm import aliased

    from maitred.db.engine import make_throwaway_engine
    from maitred.deliveries.models import PENDING, SUPERSEDED, Delivery

    newer = aliased(Delivery)
    next_id = (
        select(func.min(newer.id))
        .where(
            newer.endpoint_id == Delivery.endpoint_id,
            newer.coalesce_key == Delivery.coalesce_key,
            newer.id > Delivery.id,
        )
        .scalar_subquery()
    )
    statement = (
        update(Delivery)
        .where(Delivery.coalesce_key.is_not(None), Delivery.state == PENDING, next_id.is_not(None))
        .values(state=SUPERSEDED, superseded_by=next_id, updated_at=at)
    )
    engine = make_throwaway_engine(hub.database_url)
    try:
        with engine.begin() as connection:
            return int(connection.execute(statement).rowcount)
    finally:
        engine.dispose()


def queue(plan: Plan, workdir: Path, port: int) -> tuple[Hub, dict[str, Any]]:
    """Seed the database and queue the backlog while nothing listens on `port`."""
    from maitred.clock import now

    hub = seed(workdir, f"http://127.0.0.1:{port}/hook")
    at = now()
    queued = insert_deliveries(hub, backlog(hub, plan, at))
    superseded = coalesce(hub, at)
    return hub, {"queued": queued, "superseded_at_enqueue": superseded, "before": state_counts(hub)}


def figures(plan: Plan, queued: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Drain rate (measured, or projected when the drain did not finish), send rate, checks."""
    pending_at_start = queued["before"].get("pending", 0)
    sent = result["states_at_end"].get("delivered", 0)
    drain_s = result["drain_s"]
    # Unfinished: the time the whole backlog would take at the send rate seen so far.
    projected_s = drain_s if result["settled"] else drain_s * pending_at_start / max(sent, 1)
    final = result["states_after_stop"]
    return {
        "drain_rate": round(queued["queued"] / projected_s, 1),
        "projected": not result["settled"],
        "projected_drain_s": round(projected_s, 1),
        "send_rate": round(sent / drain_s, 1),
        "pending_at_start": pending_at_start,
        "sent_in_window": sent,
        "all_settled": result["settled"]
        and set(final) <= {"delivered", "superseded"}
        and sum(final.values()) == queued["queued"],
        "order_kept": result["receiver"]["out_of_order"] == 0,
        "plan": plan.__dict__ | {"queued": plan.queued, "timeout_s": round(plan.timeout, 1)},
    }


def measure(plan: Plan) -> dict[str, Any]:
    """Queue while the receiver is down, then start it and a worker and time the drain."""
    with tempfile.TemporaryDirectory(prefix="maitred-p4-") as tmp:
        workdir = Path(tmp)
        port = free_port()  # chosen now, listened on later: the partner is down while we queue
        hub, queued = queue(plan, workdir, port)
        with receiver(port, workdir / "receiver.log"):
            result = drain(hub, port, plan.timeout)
    return queued | result | figures(plan, queued, result)


def run(quick: bool = False) -> list[Row]:
    """P4: drain rate, the worker's peak RSS and per-key order after an outage."""
    plan = Plan(entities=2_000) if quick else Plan()
    result = measure(plan)
    rate, peak = result["drain_rate"], result["peak_rss_mb"]
    passed = (
        result["all_settled"]
        and rate >= TARGET_RATE
        and peak <= TARGET_RSS_MB
        and result["order_kept"]
    )
    return [
        Row(
            id="P4",
            scenario=f"drain {plan.queued:,} queued after outage"
            + (" (projected)" if result["projected"] else ", coalesced"),
            figure=rate,
            unit="deliv/s",
            target=f"≥ {TARGET_RATE:,.0f}/s, RSS ≤ {TARGET_RSS_MB:.0f} MB, order",
            passed=passed,
            share=min(rate / TARGET_RATE, TARGET_RSS_MB / peak if math.isfinite(peak) else 0.0),
            details=result,
        )
    ]
