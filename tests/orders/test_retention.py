"""Retention of POS orders: settled orders go after `order_retention_days`, open ones never."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.config import Settings
from maitred.flows import retention as retention_flow
from maitred.orders import retention
from maitred.orders.models import Check, PosOrder
from maitred.runtime import Runtime
from maitred.venues.models import Venue

VENUE = "venue-1"
_numbers = iter(range(1000, 100_000))


def add_order(
    session: Session,
    *,
    status: str,
    opened_days_ago: float,
    settled_days_ago: float | None = None,
    venue: str = VENUE,
) -> str:
    """An order with one check, opened (and closed or voided) that many days ago."""
    at = now()
    opened = at - timedelta(days=opened_days_ago)
    settled = None if settled_days_ago is None else at - timedelta(days=settled_days_ago)
    order = PosOrder(
        id=str(uuid.uuid4()),
        venue_id=venue,
        pos_order_id=str(next(_numbers)),
        source="pos",
        status=status,
        pos_tables=["T1"],
        opened_at=opened,
        closed_at=settled if status == "closed" else None,
        voided_at=settled if status == "void" else None,
        needs_update=False,
        created_at=opened,
        updated_at=settled or opened,
    )
    session.add(order)
    session.flush()
    session.add(
        Check(
            order_id=order.id,
            venue_id=venue,
            check_number=str(next(_numbers)),
            status="open" if status == "open" else status,
            items=[],
            content_hash="-",
            announced=True,
            opened_at=opened,
            updated_at=settled or opened,
        )
    )
    return order.id


@pytest.fixture
async def orders(runtime: Runtime) -> dict[str, str]:
    """A venue with old and recent orders in every state, by name."""

    def job(session: Session) -> dict[str, str]:
        session.add(Venue(id=VENUE, name="Venue", created_at=now(), updated_at=now()))
        session.flush()
        return {
            "old_closed": add_order(
                session, status="closed", opened_days_ago=70, settled_days_ago=61
            ),
            "old_void": add_order(session, status="void", opened_days_ago=90, settled_days_ago=80),
            "recent_closed": add_order(
                session, status="closed", opened_days_ago=59, settled_days_ago=50
            ),
            "recent_void": add_order(session, status="void", opened_days_ago=3, settled_days_ago=2),
            "old_open": add_order(session, status="open", opened_days_ago=400),
        }

    return await runtime.writer.run(job)


def remaining(runtime: Runtime) -> tuple[set[str], int]:
    """Ids of the orders left, and how many checks are left."""
    with runtime.db.read_sessions() as session:
        ids = set(session.scalars(select(PosOrder.id)))
        checks = session.scalar(select(func.count()).select_from(Check)) or 0
    return ids, checks


async def test_purge_expired_keeps_recent_settled_and_all_open_orders(
    runtime: Runtime, orders: dict[str, str]
) -> None:
    purged = await retention_flow.purge_expired(runtime)

    assert purged == 2
    ids, checks = remaining(runtime)
    assert ids == {orders[name] for name in ("recent_closed", "recent_void", "old_open")}
    assert checks == 3


async def test_purge_counts_only_orders_settled_before_the_cutoff(
    runtime: Runtime, orders: dict[str, str]
) -> None:
    older_than: datetime = now() - timedelta(days=10)

    purged = await runtime.writer.run(lambda s: retention.purge(s, older_than=older_than))

    assert purged == 3
    assert remaining(runtime)[0] == {orders["recent_void"], orders["old_open"]}


async def test_purge_twice_purges_nothing_more(runtime: Runtime, orders: dict[str, str]) -> None:
    await retention_flow.purge_expired(runtime)

    assert await retention_flow.purge_expired(runtime) == 0
    assert len(remaining(runtime)[0]) == 3


def test_cutoff_follows_the_setting(settings: Settings) -> None:
    at = now()
    longer = settings.model_copy(update={"order_retention_days": 90.0})

    assert at - retention.cutoff(settings, at) == timedelta(days=60)
    assert at - retention.cutoff(longer, at) == timedelta(days=90)


def test_retention_shorter_than_the_contract_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 45"):
        Settings(order_retention_days=44.9)

    assert Settings(order_retention_days=45).order_retention_days == 45
