"""When each venue's tables are fetched from its partners without an operator asking.

A venue is due when its links (or a linked partner's URL or token) changed, when the interval
`MAITRED_TABLES_REFRESH_INTERVAL` has passed since the last success, and, after a failure, again
after a back-off. A venue never seen here is due at once. Workers claim a due venue with a
conditional update (a lease), so two workers never fetch the same venue at the same time.
These functions flush, never commit; `maitred.flows.tables` does the fetching.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from maitred import signals
from maitred.clock import now
from maitred.db.writer import after_commit
from maitred.flags import kinds
from maitred.flags import service as flags
from maitred.tables.models import TableSync
from maitred.venues.models import VenueLink

LEASE_SECONDS = 60.0  # a claimed venue is due again after this if its worker went away
FIRST_RETRY_SECONDS = 5.0  # after a failure: 5 s, 10 s, 20 s … up to MAX_RETRY_SECONDS
MAX_RETRY_SECONDS = 300.0
MAX_ERROR = 500
# Flagged from the third failure in a row (about 15 s): partners still starting alongside the
# hub are not worth a person's look.
FLAG_AFTER_FAILURES = 3


def request(session: Session, venue_ids: Sequence[str]) -> None:
    """Make these venues due now (their links changed); wakes this process's fetcher."""
    at = now()
    for venue_id in dict.fromkeys(venue_ids):
        sync = session.get(TableSync, venue_id)
        if sync is None:
            session.add(TableSync(venue_id=venue_id, due_at=at, failures=0))
        else:
            sync.due_at, sync.failures = at, 0
    session.flush()
    after_commit(session, signals.tables.notify)


def linked_to(session: Session, partner_id: str) -> list[str]:
    """The venues a partner is linked to."""
    statement = select(VenueLink.venue_id).where(VenueLink.partner_id == partner_id).distinct()
    return list(session.scalars(statement))


def due(session: Session, at: datetime, *, limit: int = 32) -> list[str]:
    """Venues with both an RMS and a POS linked whose fetch is due (or never was planned)."""
    rms, pos = aliased(VenueLink), aliased(VenueLink)
    statement = (
        select(rms.venue_id)
        .join(pos, and_(pos.venue_id == rms.venue_id, pos.role == "pos"))
        .outerjoin(TableSync, TableSync.venue_id == rms.venue_id)
        .where(rms.role == "rms", or_(TableSync.venue_id.is_(None), TableSync.due_at <= at))
        .order_by(TableSync.due_at.is_not(None), TableSync.due_at, rms.venue_id)
        .limit(limit)
    )
    return list(dict.fromkeys(session.scalars(statement)))


def claim(session: Session, venue_ids: Sequence[str], at: datetime) -> list[str]:
    """Lease the venues still due to this worker (others skip them until the lease ends)."""
    lease_end = at + timedelta(seconds=LEASE_SECONDS)
    claimed: list[str] = []
    for venue_id in venue_ids:
        if session.get(TableSync, venue_id) is None:
            try:
                with session.begin_nested():
                    session.add(TableSync(venue_id=venue_id, due_at=lease_end, failures=0))
            except IntegrityError:
                continue  # another worker planned it meanwhile
            claimed.append(venue_id)
            continue
        result = session.execute(
            update(TableSync)
            .where(TableSync.venue_id == venue_id, TableSync.due_at <= at)
            .values(due_at=lease_end, attempted_at=at)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            claimed.append(venue_id)
    return claimed


def record_success(session: Session, venue_id: str, *, at: datetime, interval: float) -> None:
    """A refresh succeeded: next one after `interval` seconds (0: only when asked)."""
    sync = _row(session, venue_id)
    sync.refreshed_at, sync.attempted_at = at, sync.attempted_at or at
    sync.failures, sync.last_error = 0, None
    sync.due_at = at + timedelta(seconds=interval) if interval > 0 else None
    flags.resolve(
        session,
        venue_id=venue_id,
        kind=kinds.TABLES_REFRESH_FAILED,
        subject=f"venue:{venue_id}",
        by="the tables were fetched",
    )


def record_failure(
    session: Session, venue_id: str, *, at: datetime, error: str, interval: float
) -> None:
    """A refresh failed: try again after a back-off, and show why once it keeps failing."""
    sync = _row(session, venue_id)
    sync.attempted_at, sync.failures, sync.last_error = at, sync.failures + 1, error[:MAX_ERROR]
    sync.due_at = at + timedelta(seconds=retry_delay(sync.failures, interval))
    if sync.failures < FLAG_AFTER_FAILURES:
        return
    flags.raise_flag(
        session,
        venue_id=venue_id,
        kind=kinds.TABLES_REFRESH_FAILED,
        subject=f"venue:{venue_id}",
        message=f"The venue's tables could not be fetched: {sync.last_error}. maitred tries "
        "again by itself; `maitred tables refresh` tries now.",
        data={"failures": sync.failures},
    )


def retry_delay(failures: int, interval: float) -> float:
    """Seconds before the next try after `failures` failures in a row."""
    cap = min(MAX_RETRY_SECONDS, interval) if interval > 0 else MAX_RETRY_SECONDS
    delay = FIRST_RETRY_SECONDS * 2.0 ** max(failures - 1, 0)
    return min(delay, max(cap, FIRST_RETRY_SECONDS))


def never_fetched(session: Session, venue_id: str, *, at: datetime, quiet: float) -> bool:
    """True when the venue has an RMS and a POS, its tables were never fetched, and no fetch
    started in the last `quiet` seconds (so a down partner is not asked on every read)."""
    roles = set(session.scalars(select(VenueLink.role).where(VenueLink.venue_id == venue_id)))
    if not {"rms", "pos"} <= roles:
        return False
    sync = session.get(TableSync, venue_id)
    if sync is None:
        return True
    recent = sync.attempted_at is not None and sync.attempted_at > at - timedelta(seconds=quiet)
    return sync.refreshed_at is None and not recent


def _row(session: Session, venue_id: str) -> TableSync:
    sync = session.get(TableSync, venue_id)
    if sync is None:
        sync = TableSync(venue_id=venue_id, failures=0)
        session.add(sync)
    return sync
