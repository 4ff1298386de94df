"""Receiving many RMS booking states in one transaction with set-based statements: per batch,
one venue lookup per distinct venue, then per round one multi-row insert into the inbox, one
select of the stored bookings and one multi-row insert of the new ones (with their follow-up
marks). Updates of stored bookings and duplicates take a statement or two each.

The outcome of every state is what `service.receive_on` would give applying them one by one in
order: a booking sent twice in one batch is written in two rounds, the second seeing the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maitred.clock import now
from maitred.db.batch import BatchConnection
from maitred.errors import NotFound, field_details
from maitred.inbox import service as inbox
from maitred.reservations import rules
from maitred.reservations.repository import Stored, json_in
from maitred.reservations.rules import BookingState, ReservationChange
from maitred.reservations.service import EVENT_KIND, Receipt


@dataclass(frozen=True)
class Incoming:
    """One booking state as an RMS sent it, for `receive_batch`."""

    partner_id: str
    external_venue_id: str
    state: BookingState
    correlation_id: str | None


@dataclass
class _Item:
    index: int
    incoming: Incoming
    venue_id: str
    text: str  # the canonical payload
    digest: str
    key: str  # the inbox dedupe key

    @property
    def booking(self) -> tuple[str, str]:
        return self.venue_id, self.incoming.state.booking_id


_RESOLVE = "SELECT venue_id FROM venue_links WHERE partner_id = ? AND external_id = ?"
_INBOX_COLUMNS = "(partner_id, dedupe_key, kind, venue_id, correlation_id, received_at)"
_INBOX_ROW = "(?, ?, ?, ?, ?, ?)"
_INBOX_RETURNING = (
    " ON CONFLICT (partner_id, dedupe_key) DO NOTHING RETURNING partner_id, dedupe_key"
)
_FIND = (
    "SELECT booking_id, id, version, content_hash, payload, items FROM reservations"
    " WHERE venue_id = ? AND booking_id IN ({marks})"
)
_INSERT_COLUMNS = (
    "(venue_id, booking_id, rms_partner_id, version, status, party_size, date, rms_tables,"
    " items, payload, content_hash, created_at, updated_at, followup_pending,"
    " followup_correlation_id)"
)
_INSERT_ROW = "(?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?)"
_INSERT_RETURNING = " ON CONFLICT (venue_id, booking_id) DO NOTHING RETURNING booking_id, id"
_UPDATE = (
    "UPDATE reservations SET status = ?, party_size = ?, date = ?, rms_tables = ?, items = ?,"
    " payload = ?, content_hash = ?, updated_at = ?, version = version + 1,"
    " followup_pending = TRUE, followup_correlation_id = ? WHERE id = ? RETURNING version"
)


def _values(count: int, row: str, cache: dict[tuple[int, str], str] = {}) -> str:  # noqa: B006
    """`row, row, …` `count` times (memoised: a batch's size repeats)."""
    found = cache.get((count, row))
    if found is None:
        found = cache[(count, row)] = ", ".join([row] * count)
    return found


def _insert_sql(table: str, columns: str, row: str, count: int, tail: str) -> str:
    """A multi-row INSERT of `count` rows of placeholders. Every part is one of this module's
    constants (the values travel as parameters), hence the S608 exemption."""
    return f"INSERT INTO {table} {columns} VALUES {_values(count, row)}{tail}"  # noqa: S608


async def receive_batch(
    connection: BatchConnection, items: Sequence[Incoming]
) -> list[Receipt | Exception]:
    """Record and apply each state in order; a receipt each, or the error that state is
    refused with (an unknown venue). A failing statement raises: the caller writes the batch
    again one state at a time to find the culprit."""
    outcomes: list[Receipt | Exception | None] = [None] * len(items)
    pairs = list(dict.fromkeys((i.partner_id, i.external_venue_id) for i in items))
    resolved = await connection.fetch_all([(_RESOLVE, pair) for pair in pairs])
    venues = {
        pair: str(rows[0][0]) if rows else None for pair, rows in zip(pairs, resolved, strict=True)
    }
    rounds: list[list[_Item]] = []
    placed: dict[tuple[str, str], int] = {}  # booking → the round it was last placed in
    for index, incoming in enumerate(items):
        venue_id = venues[(incoming.partner_id, incoming.external_venue_id)]
        if venue_id is None:  # unknown, or another partner's: 404, never a hint
            outcomes[index] = NotFound(
                "Venue not found", details=field_details("venueId", "Unknown venue.")
            )
            continue
        text, digest = rules.canonical(incoming.state.payload)
        key = inbox.rms_booking_key(
            venue_id=venue_id, booking_id=incoming.state.booking_id, digest=digest
        )[: inbox.MAX_KEY]
        item = _Item(index, incoming, venue_id, text, digest, key)
        number = placed.get(item.booking, -1) + 1
        placed[item.booking] = number
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(item)
    at = now()
    for round_ in rounds:
        for item, receipt in zip(round_, await _round(connection, round_, at), strict=True):
            outcomes[item.index] = receipt
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


async def _round(connection: BatchConnection, items: list[_Item], at: datetime) -> list[Receipt]:
    """States of distinct bookings: their inbox rows, then their reservations."""
    stamp = connection.timestamp(at)
    params: list[Any] = []
    for item in items:
        incoming = item.incoming
        params += (incoming.partner_id, item.key, EVENT_KIND, item.venue_id,
                   incoming.correlation_id, stamp)  # fmt: skip
    sql = _insert_sql("inbound_events", _INBOX_COLUMNS, _INBOX_ROW, len(items), _INBOX_RETURNING)
    finds = _finds([item.booking for item in items])
    inserted, *found = await connection.fetch_all([(sql, params), *finds])
    fresh = {(str(p), str(k)) for p, k in inserted}
    stored = _stored(finds, found)
    receipts: dict[int, Receipt] = {}
    new: list[_Item] = []
    for item in items:
        before = stored.get(item.booking)
        if (item.incoming.partner_id, item.key) not in fresh:
            duplicate = await _seen(connection, item, before, stamp)
            if duplicate is not None:
                receipts[item.index] = duplicate
                continue
        if before is None:
            new.append(item)
        else:
            receipts[item.index] = await _update(connection, item, before, at)
    if new:
        receipts.update(await _insert(connection, new, at))
    return [receipts[item.index] for item in items]


async def _seen(
    connection: BatchConnection, item: _Item, stored: Stored | None, stamp: Any
) -> Receipt | None:
    """A state whose event was recorded before: a duplicate receipt, unless the booking went
    back to a state it had before (A, B, A), which is a new event under a versioned key."""
    state = item.incoming.state
    effective = rules.effective_payload(state.payload, stored.items if stored else None)
    if stored is not None and stored.content_hash == rules.digest(effective):
        return Receipt(venue_id=item.venue_id, duplicate=True, change=None)
    key = f"{item.key}:v{stored.version + 1 if stored else 1}"[: inbox.MAX_KEY]
    incoming = item.incoming
    sql = _insert_sql("inbound_events", _INBOX_COLUMNS, _INBOX_ROW, 1, _INBOX_RETURNING)
    params = (incoming.partner_id, key, EVENT_KIND, item.venue_id, incoming.correlation_id, stamp)
    if not await connection.fetch(sql, params):
        return Receipt(venue_id=item.venue_id, duplicate=True, change=None)
    return None


def _finds(bookings: list[tuple[str, str]]) -> list[tuple[str, tuple[str, ...]]]:
    """The statements reading the stored state of `bookings`: one per venue."""
    by_venue: dict[str, list[str]] = {}
    for venue_id, booking_id in bookings:
        by_venue.setdefault(venue_id, []).append(booking_id)
    return [
        (_FIND.format(marks=_values(len(booking_ids), "?")), (venue_id, *booking_ids))
        for venue_id, booking_ids in by_venue.items()
    ]


def _stored(
    finds: list[tuple[str, tuple[str, ...]]], found: list[list[Any]]
) -> dict[tuple[str, str], Stored]:
    """What the statements of `_finds` read, by (venue, booking)."""
    stored: dict[tuple[str, str], Stored] = {}
    for (_sql, params), rows in zip(finds, found, strict=True):
        for row in rows:
            stored[(params[0], str(row[0]))] = Stored(
                int(row[1]), int(row[2]), str(row[3]), json_in(row[4]), json_in(row[5])
            )
    return stored


async def _find(
    connection: BatchConnection, bookings: list[tuple[str, str]]
) -> dict[tuple[str, str], Stored]:
    """The stored state of each booking that has one."""
    finds = _finds(bookings)
    return _stored(finds, await connection.fetch_all(finds))


def _columns(item: _Item, effective: dict[str, Any]) -> tuple[Any, ...]:
    """status, party size, date, tables, items, payload, content hash of a state to store."""
    state = item.incoming.state
    text, digest = (
        (item.text, item.digest) if effective is state.payload else rules.canonical(effective)
    )
    items = effective.get("items")
    return (
        state.status,
        state.party_size,
        state.date,
        rules.compact_json(list(state.tables)),
        None if items is None else rules.compact_json(items),
        text,
        digest,
    )


async def _insert(
    connection: BatchConnection, items: list[_Item], at: datetime
) -> dict[int, Receipt]:
    """New bookings in one statement, each marked for its follow-up; one another process
    stored meanwhile is applied over its row."""
    stamp = connection.timestamp(at)
    params: list[Any] = []
    for item in items:
        incoming = item.incoming
        params += (item.venue_id, incoming.state.booking_id, incoming.partner_id,
                   *_columns(item, incoming.state.payload), stamp, stamp,
                   incoming.correlation_id)  # fmt: skip
    sql = _insert_sql("reservations", _INSERT_COLUMNS, _INSERT_ROW, len(items), _INSERT_RETURNING)
    ids = {str(booking): int(new_id) for booking, new_id in await connection.fetch(sql, params)}
    receipts: dict[int, Receipt] = {}
    for item in items:
        state = item.incoming.state
        new_id = ids.get(state.booking_id)
        if new_id is None:  # another process stored this booking since we looked
            stored = (await _find(connection, [item.booking]))[item.booking]
            receipts[item.index] = await _update(connection, item, stored, at)
            continue
        change = ReservationChange(
            new_id, item.venue_id, state.booking_id, True, frozenset(state.payload), 1
        )
        receipts[item.index] = Receipt(venue_id=item.venue_id, duplicate=False, change=change)
    return receipts


async def _update(
    connection: BatchConnection, item: _Item, stored: Stored, at: datetime
) -> Receipt:
    """Apply a state over a stored booking (nothing written when it is the same)."""
    state = item.incoming.state
    effective = rules.effective_payload(state.payload, stored.items)
    values = _columns(item, effective)
    if values[-1] == stored.content_hash:
        change = ReservationChange(
            stored.id, item.venue_id, state.booking_id, False, frozenset(), stored.version
        )
        return Receipt(venue_id=item.venue_id, duplicate=False, change=change)
    params = (*values, connection.timestamp(at), item.incoming.correlation_id, stored.id)
    rows = await connection.fetch(_UPDATE, params)
    changed = rules.changed_fields(stored.payload, effective)
    change = ReservationChange(
        stored.id, item.venue_id, state.booking_id, False, changed, int(rows[0][0])
    )
    return Receipt(venue_id=item.venue_id, duplicate=False, change=change)
