"""Table mapping rules that need data: the operator's actions, the views, and id translation
(the refresh from the partners is a use case: `maitred.flows.tables`).

Translation uses only active (`auto` / `confirmed`), non-stale mappings; an id it cannot
translate is reported in `Translation.missing`, never dropped silently (spec decision 3).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.errors import Conflict, NotFound
from maitred.reservations import again as reservations_again
from maitred.tables import repository as repo
from maitred.tables import sync
from maitred.tables.models import ACTIVE_STATES, TableMapping
from maitred.tables.schemas import (
    MappingRead,
    MappingsView,
    PosTable,
    RefreshReport,
    TableRead,
    Translation,
)

__all__ = [
    "MappingsView",
    "PosTable",
    "RefreshReport",
    "Translation",
    "confirm",
    "mappings",
    "pos_tables",
    "pos_to_rms_map",
    "require_venue",
    "translate_pos_to_rms",
    "translate_rms_to_pos",
    "translate_with",
    "unmap",
]

CONFIRMED_REASON = "confirmed by operator"


def confirm(
    session: Session, *, venue_id: str, rms_table_id: str, pos_table_id: str
) -> MappingRead:
    """Map an RMS table to a POS table as the operator says (replaces any other mapping); the
    bookings held at the venue are followed again."""
    require_venue(session, venue_id)
    _require_present(session, "rms", venue_id, rms_table_id)
    _require_present(session, "pos", venue_id, pos_table_id)
    repo.delete_active_of_rms(session, venue_id, rms_table_id)
    repo.delete_suggestions(session, venue_id, rms_table_id)
    # The operator's word beats a name match that sent another RMS table to this POS table.
    repo.delete_auto_onto_pos(session, venue_id, pos_table_id)
    session.flush()
    mapping = TableMapping(
        venue_id=venue_id,
        rms_table_id=rms_table_id,
        pos_table_id=pos_table_id,
        state="confirmed",
        confidence=1.0,
        reason=CONFIRMED_REASON,
        stale=False,
        stale_reason=None,
        updated_at=now(),
    )
    session.add(mapping)
    session.flush()
    reservations_again.release_held(session, venue_id=venue_id)
    return MappingRead.model_validate(mapping)


def unmap(session: Session, *, venue_id: str, rms_table_id: str) -> MappingRead:
    """Remove an RMS table's active mapping; matching will not re-apply that pair by itself."""
    require_venue(session, venue_id)
    mapping = repo.active_mapping(session, venue_id, rms_table_id)
    if mapping is None:
        raise NotFound(f"RMS table {rms_table_id} has no mapping at venue {venue_id}")
    removed = MappingRead.model_validate(mapping)
    repo.delete_suggestions(session, venue_id, rms_table_id)
    session.delete(mapping)
    session.flush()
    # Kept as a suggestion so the operator still sees it, and marked so auto-matching skips it.
    session.add(
        TableMapping(
            venue_id=venue_id,
            rms_table_id=rms_table_id,
            pos_table_id=mapping.pos_table_id,
            state="suggested",
            confidence=mapping.confidence,
            reason=sync.UNMAPPED_REASON,
            stale=False,
            stale_reason=None,
            updated_at=now(),
        )
    )
    session.flush()
    return removed


def mappings(session: Session, venue_id: str) -> MappingsView:
    """Both sides' tables, active mappings, suggestions, stale ones and what is unmapped."""
    require_venue(session, venue_id)
    rms = [TableRead.model_validate(t) for t in repo.tables(session, "rms", venue_id)]
    pos = [TableRead.model_validate(t) for t in repo.tables(session, "pos", venue_id)]
    rows = [MappingRead.model_validate(m) for m in repo.mappings(session, venue_id)]
    active = [m for m in rows if m.state in ACTIVE_STATES]
    usable = [m for m in active if not m.stale]
    mapped_rms = {m.rms_table_id for m in usable}
    mapped_pos = {m.pos_table_id for m in usable}
    return MappingsView(
        venue_id=venue_id,
        rms_tables=rms,
        pos_tables=pos,
        mappings=active,
        suggestions=[m for m in rows if m.state == "suggested"],
        stale=[m for m in active if m.stale],
        unmapped_rms=[t for t in rms if t.present and t.id not in mapped_rms],
        unmapped_pos=[t for t in pos if t.present and t.id not in mapped_pos],
    )


def translate_rms_to_pos(
    session: Session, *, venue_id: str, rms_table_ids: list[str]
) -> Translation:
    """POS table ids for a booking's RMS tables (merged tables keep their order, no repeats)."""
    found = repo.usable_by_rms(session, venue_id, rms_table_ids)
    translated: list[str] = []
    missing: list[str] = []
    for rms_id in rms_table_ids:
        pos_id = found.get(rms_id)
        _append_once(missing if pos_id is None else translated, pos_id or rms_id)
    return Translation(table_ids=translated, missing=missing)


def translate_pos_to_rms(
    session: Session, *, venue_id: str, pos_table_ids: list[str]
) -> Translation:
    """RMS table ids for a POS order's tables."""
    return translate_with(repo.usable_by_pos(session, venue_id, pos_table_ids), pos_table_ids)


def pos_to_rms_map(session: Session, venue_id: str) -> dict[str, list[str]]:
    """POS id → RMS ids (sorted) of every active, non-stale mapping of the venue: what a cache
    keeps to translate the venue's POS tables without a statement (`translate_with`)."""
    return repo.usable_by_pos(session, venue_id, None)


def translate_with(found: dict[str, list[str]], pos_table_ids: list[str]) -> Translation:
    """RMS table ids for a POS order's tables, from a venue's POS id → RMS ids map."""
    translated: list[str] = []
    missing: list[str] = []
    for pos_id in pos_table_ids:
        if pos_id not in found:
            _append_once(missing, pos_id)
        for rms_id in found.get(pos_id, []):
            _append_once(translated, rms_id)
    return Translation(table_ids=translated, missing=missing)


def pos_tables(session: Session, *, venue_id: str) -> list[PosTable]:
    """The POS tables the venue's POS currently lists (none for an unknown venue)."""
    return [
        PosTable(id=t.external_id, name=t.name, area=t.area)
        for t in repo.present_pos_tables(session, venue_id)
    ]


def _append_once(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def require_venue(session: Session, venue_id: str) -> None:
    """NotFound unless the venue exists."""
    if not repo.venue_exists(session, venue_id):
        raise NotFound(f"Venue {venue_id} not found")


def _require_present(session: Session, side: str, venue_id: str, table_id: str) -> None:
    table = repo.table(session, side, venue_id, table_id)
    if table is None:
        raise NotFound(f"{side.upper()} table {table_id} not found at venue {venue_id}")
    if not table.present:
        raise Conflict(f"{side.upper()} table {table_id} is no longer listed by the {side.upper()}")
