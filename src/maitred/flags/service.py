"""Raising and resolving flags (flushes, never commits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.flags.models import Flag


def raise_flag(
    session: Session,
    *,
    venue_id: str | None,
    kind: str,
    subject: str,
    message: str,
    data: dict[str, Any] | None = None,
) -> int:
    """Open a flag, or refresh the open one with the same kind and subject (no duplicates)."""
    existing = session.scalar(
        select(Flag).where(
            Flag.venue_id == venue_id,
            Flag.kind == kind,
            Flag.subject == subject,
            Flag.resolved_at.is_(None),
        )
    )
    if existing is not None:
        existing.message = message
        existing.data = data
        return existing.id
    flag = Flag(
        venue_id=venue_id, kind=kind, subject=subject, message=message, data=data, created_at=now()
    )
    session.add(flag)
    session.flush()
    return flag.id


def resolve(session: Session, *, venue_id: str | None, kind: str, subject: str) -> int:
    """Close the open flags of that kind and subject; returns how many."""
    result = session.execute(
        update(Flag)
        .where(
            Flag.venue_id == venue_id,
            Flag.kind == kind,
            Flag.subject == subject,
            Flag.resolved_at.is_(None),
        )
        .values(resolved_at=now())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def open_flags(session: Session, *, venue_id: str | None = None) -> list[Flag]:
    """Unresolved flags, newest first."""
    statement = select(Flag).where(Flag.resolved_at.is_(None)).order_by(Flag.id.desc())
    if venue_id is not None:
        statement = statement.where(Flag.venue_id == venue_id)
    return list(session.scalars(statement))
