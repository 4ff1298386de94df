"""Retention of POS orders: settled orders are kept `order_retention_days` (at least the 45 days
the contract wants closed orders retrievable, contracts §1.2), then purged with their checks.

Open orders are never purged, however old.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.config import Settings
from maitred.orders.models import Check, PosOrder
from maitred.orders.rules import OrderStatus


def cutoff(settings: Settings, at: datetime | None = None) -> datetime:
    """The moment before which a settled order is past retention."""
    return (at or now()) - timedelta(days=settings.order_retention_days)


def purge(session: Session, *, older_than: datetime) -> int:
    """Delete closed/voided orders settled before `older_than` (and their checks); the count."""
    settled_at = func.coalesce(PosOrder.voided_at, PosOrder.closed_at)
    expired = or_(
        and_(PosOrder.status == OrderStatus.CLOSED, PosOrder.closed_at < older_than),
        and_(PosOrder.status == OrderStatus.VOID, settled_at < older_than),
    )
    # The foreign key cascades too; deleting the checks first does not depend on it.
    session.execute(
        delete(Check)
        .where(Check.order_id.in_(select(PosOrder.id).where(expired)))
        .execution_options(synchronize_session=False)
    )
    result = cast(
        "CursorResult[Any]",
        session.execute(
            delete(PosOrder).where(expired).execution_options(synchronize_session=False)
        ),
    )
    return int(result.rowcount)
