"""What a change to venues' links (or to a linked partner's URL or token) sets going: a fetch
of their tables, and another look at the bookings held there (they may go through now)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from maitred.reservations import again as reservations_again
from maitred.tables import schedule as tables_schedule


def links_changed(session: Session, venue_ids: Sequence[str]) -> None:
    """Plan a table fetch for each venue and follow its held bookings again (flushes)."""
    if not venue_ids:
        return
    tables_schedule.request(session, venue_ids)
    for venue_id in dict.fromkeys(venue_ids):
        reservations_again.release_held(session, venue_id=venue_id)
