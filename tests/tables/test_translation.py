"""Translating table ids between the RMS and the POS, as the order flow does."""

from __future__ import annotations

from sqlalchemy.orm import Session

from maitred.clock import now
from maitred.runtime import Runtime
from maitred.tables import service, sync
from maitred.tables.rules import TableRef
from maitred.tables.schemas import Translation

RMS = [TableRef("r1", "1"), TableRef("r2", "2"), TableRef("r3", "3"), TableRef("r9", "Bar")]
POS = [TableRef("p1", "Table 1"), TableRef("p2", "Table 2"), TableRef("p3", "Table 3", "Patio")]


async def _listed(runtime: Runtime, venue: str) -> None:
    """Store both listings without the network (matching maps r1..r3 to p1..p3)."""

    def job(session: Session) -> None:
        sync.apply_refresh(session, venue_id=venue, rms=RMS, pos=POS, at=now())

    await runtime.writer.run(job)


async def test_merged_tables_keep_order_and_drop_duplicates(runtime: Runtime, venue: str) -> None:
    await _listed(runtime, venue)

    with runtime.db.read_sessions() as session:
        result = service.translate_rms_to_pos(
            session, venue_id=venue, rms_table_ids=["r3", "r1", "r3", "r2"]
        )

    assert result == Translation(table_ids=["p3", "p1", "p2"], missing=[])


async def test_unmapped_rms_table_is_reported_missing(runtime: Runtime, venue: str) -> None:
    await _listed(runtime, venue)

    with runtime.db.read_sessions() as session:
        result = service.translate_rms_to_pos(
            session, venue_id=venue, rms_table_ids=["r1", "r9", "nope"]
        )

    assert result == Translation(table_ids=["p1"], missing=["r9", "nope"])


async def test_pos_tables_translate_back_to_rms(runtime: Runtime, venue: str) -> None:
    await _listed(runtime, venue)

    with runtime.db.read_sessions() as session:
        result = service.translate_pos_to_rms(
            session, venue_id=venue, pos_table_ids=["p2", "p1", "p2", "p-unknown"]
        )

    assert result == Translation(table_ids=["r2", "r1"], missing=["p-unknown"])
    assert result.table_ids == ["r2", "r1"]


async def test_translation_is_per_venue(runtime: Runtime, venue: str) -> None:
    await _listed(runtime, venue)

    with runtime.db.read_sessions() as session:
        result = service.translate_rms_to_pos(session, venue_id="other", rms_table_ids=["r1"])

    assert result == Translation(table_ids=[], missing=["r1"])


async def test_pos_tables_lists_present_tables_with_area(runtime: Runtime, venue: str) -> None:
    await _listed(runtime, venue)

    with runtime.db.read_sessions() as session:
        listed = service.pos_tables(session, venue_id=venue)

    assert [(t.id, t.name, t.area) for t in listed] == [
        ("p1", "Table 1", None),
        ("p2", "Table 2", None),
        ("p3", "Table 3", "Patio"),
    ]
