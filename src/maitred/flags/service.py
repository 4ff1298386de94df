"""Raising, settling and resolving flags (flushes, never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.errors import NotFound
from maitred.flags.models import Flag

OPERATOR = "operator"
MAX_BY = 200  # the column's width


def raise_flag(
    session: Session,
    *,
    venue_id: str | None,
    kind: str,
    subject: str,
    message: str,
    data: dict[str, Any] | None = None,
) -> int:
    """Open a flag, or refresh the open one with the same kind and subject (no duplicates).

    A refreshed flag whose message changed loses its acknowledgement: something new happened.
    """
    existing = session.scalar(
        select(Flag).where(
            Flag.venue_id == venue_id,
            Flag.kind == kind,
            Flag.subject == subject,
            Flag.resolved_at.is_(None),
        )
    )
    if existing is not None:
        if existing.message != message:
            existing.acknowledged_at = None
        existing.message = message
        existing.data = data
        return existing.id
    flag = Flag(
        venue_id=venue_id, kind=kind, subject=subject, message=message, data=data, created_at=now()
    )
    session.add(flag)
    session.flush()
    return flag.id


def resolve(
    session: Session, *, venue_id: str | None, kind: str, subject: str, by: str = "maitred"
) -> int:
    """Close the open flags of that kind and subject, saying what settled them; how many."""
    return settle(session, venue_id=venue_id, kinds=[kind], subjects=[subject], by=by)


def settle(
    session: Session,
    *,
    venue_id: str | None,
    kinds: Sequence[str],
    subjects: Sequence[str],
    by: str,
) -> int:
    """Close the open flags of any of `kinds` about any of `subjects`; how many."""
    if not kinds or not subjects:
        return 0
    result = session.execute(
        update(Flag)
        .where(
            Flag.venue_id == venue_id,
            Flag.kind.in_(kinds),
            Flag.subject.in_(subjects),
            Flag.resolved_at.is_(None),
        )
        .values(resolved_at=now(), resolved_by=by[:MAX_BY])
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def open_flags(
    session: Session, *, venue_id: str | None = None, kind: str | None = None
) -> list[Flag]:
    """Unresolved flags, newest first."""
    statement = select(Flag).where(Flag.resolved_at.is_(None)).order_by(Flag.id.desc())
    if venue_id is not None:
        statement = statement.where(Flag.venue_id == venue_id)
    if kind is not None:
        statement = statement.where(Flag.kind == kind)
    return list(session.scalars(statement))


def list_flags(
    session: Session,
    *,
    venue_id: str | None = None,
    kind: str | None = None,
    include_resolved: bool = False,
    acknowledged: bool | None = None,
    limit: int = 100,
) -> list[Flag]:
    """Flags matching every filter given, newest first (open ones only unless asked)."""
    statement = select(Flag).order_by(Flag.id.desc()).limit(limit)
    if not include_resolved:
        statement = statement.where(Flag.resolved_at.is_(None))
    if venue_id is not None:
        statement = statement.where(Flag.venue_id == venue_id)
    if kind is not None:
        statement = statement.where(Flag.kind == kind)
    if acknowledged is not None:
        column = Flag.acknowledged_at
        statement = statement.where(column.is_not(None) if acknowledged else column.is_(None))
    return list(session.scalars(statement))


def get(session: Session, flag_id: int) -> Flag:
    """One flag; NotFound when there is none."""
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise NotFound(f"Flag {flag_id} not found")
    return flag


def resolve_one(session: Session, flag_id: int, *, note: str | None = None) -> Flag:
    """An operator closes a flag (a resolved one stays as it was: resolving twice is safe)."""
    flag = get(session, flag_id)
    if flag.resolved_at is None:
        flag.resolved_at = now()
        flag.resolved_by = (f"{OPERATOR}: {note}" if note else OPERATOR)[:MAX_BY]
        session.flush()
    return flag


def resolve_matching(
    session: Session, *, venue_id: str | None, kind: str, note: str | None = None
) -> list[Flag]:
    """An operator closes every open flag of a kind (at one venue, or everywhere)."""
    found = open_flags(session, venue_id=venue_id, kind=kind)
    return [resolve_one(session, flag.id, note=note) for flag in found]


def acknowledge_matching(session: Session, *, venue_id: str | None, kind: str) -> list[Flag]:
    """An operator has seen every open flag of a kind (at one venue, or everywhere)."""
    found = open_flags(session, venue_id=venue_id, kind=kind)
    return [acknowledge(session, flag.id) for flag in found]


def acknowledge(session: Session, flag_id: int) -> Flag:
    """An operator has seen a flag: it stays open, marked acknowledged (twice is safe)."""
    flag = get(session, flag_id)
    if flag.acknowledged_at is None and flag.resolved_at is None:
        flag.acknowledged_at = now()
        session.flush()
    return flag
