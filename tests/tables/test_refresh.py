"""Refreshing a venue's tables from its POS and RMS: storage, drift and matching."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.capabilities import service as capabilities
from maitred.errors import PartnerRejected, PartnerUnavailable
from maitred.flows import tables as tables_flow
from maitred.monitoring.models import Trace
from maitred.runtime import Runtime
from maitred.tables import service
from maitred.tables.schemas import MappingRead, Translation
from tests.tables.conftest import (
    POS_TOKEN,
    RMS_TOKEN,
    TableServer,
    active,
    mapping_rows,
    spec_fixture,
    table_rows,
)

RMS_001 = "28c3ce8b-8c10-4a64-8099-f0dffcc549a8"
RMS_002 = "00f8c6da-3967-4e56-98b9-5ee063b05292"


async def _confirm(runtime: Runtime, venue: str, rms_id: str, pos_id: str) -> MappingRead:
    def job(session: Session) -> MappingRead:
        return service.confirm(session, venue_id=venue, rms_table_id=rms_id, pos_table_id=pos_id)

    return await runtime.writer.run(job)


def _translate(runtime: Runtime, venue: str, rms_ids: list[str]) -> Translation:
    with runtime.db.read_sessions() as session:
        return service.translate_rms_to_pos(session, venue_id=venue, rms_table_ids=rms_ids)


async def test_seed_tables_auto_match_numbered_pos_tables(runtime: Runtime, venue: str) -> None:
    report = await tables_flow.refresh(runtime, venue)

    assert (report.rms.count, report.pos.count) == (2, 2)
    assert sorted(report.rms.added) == sorted([RMS_001, RMS_002])
    assert {(m.rms_table_id, m.pos_table_id) for m in report.auto_applied} == {
        (RMS_001, "P1"),
        (RMS_002, "P2"),
    }
    assert all(m.state == "auto" and m.confidence == 1.0 for m in report.auto_applied)
    assert report.suggestions == []
    assert _translate(runtime, venue, [RMS_001]) == Translation(["P1"], [])


async def test_ambiguous_names_are_only_suggested(
    runtime: Runtime, venue: str, pos_server: TableServer
) -> None:
    pos_server.listing = [{"id": "A", "name": "Table 1"}, {"id": "B", "name": "T1"}]

    report = await tables_flow.refresh(runtime, venue)

    assert report.auto_applied == []
    assert {(m.rms_table_id, m.pos_table_id) for m in report.suggestions} == {
        (RMS_001, "A"),
        (RMS_001, "B"),
    }
    assert all(m.state == "suggested" and m.confidence < 1.0 for m in report.suggestions)
    assert active(runtime) == {}
    assert _translate(runtime, venue, [RMS_001]).missing == [RMS_001]


async def test_confirm_overrides_auto_and_survives_refresh(runtime: Runtime, venue: str) -> None:
    await tables_flow.refresh(runtime, venue)

    confirmed = await _confirm(runtime, venue, RMS_001, "P2")
    report = await tables_flow.refresh(runtime, venue)

    assert confirmed.state == "confirmed"
    assert report.auto_applied == []
    # The auto mapping that also sent RMS 002 to P2 gave way to the operator's choice.
    assert active(runtime) == {RMS_001: ("P2", "confirmed", False)}
    assert _translate(runtime, venue, [RMS_001]) == Translation(["P2"], [])


async def test_vanished_pos_table_makes_its_mapping_stale(
    runtime: Runtime, venue: str, pos_server: TableServer
) -> None:
    await tables_flow.refresh(runtime, venue)
    pos_server.listing = [{"id": "P2", "name": "Table 2"}]

    report = await tables_flow.refresh(runtime, venue)

    assert report.pos.gone == ["P1"]
    assert [(m.rms_table_id, m.pos_table_id, m.stale) for m in report.stale] == [
        (RMS_001, "P1", True)
    ]
    assert "P1" in (report.stale[0].stale_reason or "")
    kept = [row for row in table_rows(runtime) if row[2] == "P1"]
    assert len(kept) == 1
    assert kept[0][5] is False  # present
    assert kept[0][6] is not None  # gone_at
    assert _translate(runtime, venue, [RMS_001, RMS_002]) == Translation(["P2"], [RMS_001])


async def test_table_listed_again_recovers_its_stale_mapping(
    runtime: Runtime, venue: str, pos_server: TableServer
) -> None:
    await tables_flow.refresh(runtime, venue)
    listing = pos_server.listing
    pos_server.listing = listing[1:]
    await tables_flow.refresh(runtime, venue)
    pos_server.listing = listing

    report = await tables_flow.refresh(runtime, venue)

    assert report.pos.returned == ["P1"]
    assert [m.rms_table_id for m in report.recovered] == [RMS_001]
    assert _translate(runtime, venue, [RMS_001]) == Translation(["P1"], [])


async def test_renamed_table_is_reported_and_its_auto_mapping_goes_stale(
    runtime: Runtime, venue: str, pos_server: TableServer
) -> None:
    await tables_flow.refresh(runtime, venue)
    pos_server.listing = [{"id": "P1", "name": "Table 7"}, {"id": "P2", "name": "Table 2"}]

    report = await tables_flow.refresh(runtime, venue)

    assert [(r.id, r.old_name, r.new_name) for r in report.pos.renamed] == [
        ("P1", "Table 1", "Table 7")
    ]
    assert [m.rms_table_id for m in report.stale] == [RMS_001]
    assert _translate(runtime, venue, [RMS_001]).missing == [RMS_001]


async def test_rename_that_still_matches_keeps_the_mapping(
    runtime: Runtime, venue: str, pos_server: TableServer
) -> None:
    await tables_flow.refresh(runtime, venue)
    pos_server.listing = [{"id": "P1", "name": "T-01"}, {"id": "P2", "name": "Table 2"}]

    report = await tables_flow.refresh(runtime, venue)

    assert [r.id for r in report.pos.renamed] == ["P1"]
    assert report.stale == []
    assert _translate(runtime, venue, [RMS_001]) == Translation(["P1"], [])


async def test_refresh_twice_is_idempotent(
    runtime: Runtime, venue: str, pos_server: TableServer
) -> None:
    pos_server.listing = [
        {"id": "P1", "name": "Table 1"},
        {"id": "A", "name": "Table 2"},
        {"id": "B", "name": "T2"},
    ]
    await tables_flow.refresh(runtime, venue)
    tables, mappings = table_rows(runtime), mapping_rows(runtime)

    again = await tables_flow.refresh(runtime, venue)

    assert (table_rows(runtime), mapping_rows(runtime)) == (tables, mappings)
    assert again.rms.added == again.pos.added == again.pos.gone == []
    assert again.auto_applied == again.stale == []
    assert {m.pos_table_id for m in again.suggestions} == {"A", "B"}


async def test_unmapped_pair_is_not_applied_again(runtime: Runtime, venue: str) -> None:
    await tables_flow.refresh(runtime, venue)

    def job(session: Session) -> MappingRead:
        return service.unmap(session, venue_id=venue, rms_table_id=RMS_001)

    removed = await runtime.writer.run(job)
    await tables_flow.refresh(runtime, venue)

    assert removed.pos_table_id == "P1"
    assert RMS_001 not in active(runtime)
    assert _translate(runtime, venue, [RMS_001]).missing == [RMS_001]


async def test_bearer_token_is_sent_and_never_traced(
    runtime: Runtime, venue: str, pos_server: TableServer, rms_server: TableServer
) -> None:
    await tables_flow.refresh(runtime, venue)

    assert pos_server.authorizations == [f"Bearer {POS_TOKEN}"]
    assert rms_server.authorizations == [f"Bearer {RMS_TOKEN}"]
    with runtime.db.read_sessions() as session:
        traces = list(session.scalars(select(Trace).order_by(Trace.id)))
    assert {(t.direction, t.partner_id, t.status_code) for t in traces} == {
        ("outbound", "pos-1", 200),
        ("outbound", "rms-1", 200),
    }
    dumped = repr([vars(t) for t in traces])
    assert POS_TOKEN not in dumped
    assert RMS_TOKEN not in dumped


async def test_failed_listing_changes_nothing_and_is_traced(
    runtime: Runtime, venue: str, pos_server: TableServer
) -> None:
    await tables_flow.refresh(runtime, venue)
    tables, mappings = table_rows(runtime), mapping_rows(runtime)
    pos_server.status = 503

    with pytest.raises(PartnerUnavailable):
        await tables_flow.refresh(runtime, venue)

    assert (table_rows(runtime), mapping_rows(runtime)) == (tables, mappings)
    with runtime.db.read_sessions() as session:
        failed = session.scalars(select(Trace).where(Trace.outcome == "failed")).all()
    assert [(t.partner_id, t.status_code) for t in failed] == [("pos-1", 503)]


async def test_pos_fixture_listing_is_stored_verbatim(
    runtime: Runtime, venue: str, pos_server: TableServer
) -> None:
    pos_server.listing = spec_fixture("hub_pos_tables_response.json")["tables"]

    await tables_flow.refresh(runtime, venue)

    with runtime.db.read_sessions() as session:
        listed = service.pos_tables(session, venue_id=venue)
    assert [(t.id, t.name, t.area) for t in listed] == [
        ("T12", "Table 12", "Terrace"),
        ("T15", "Table 15", None),
    ]


async def test_listings_show_in_the_capability_report(
    runtime: Runtime, venue: str, pos_server: TableServer
) -> None:
    await tables_flow.refresh(runtime, venue)
    pos_server.status = 503  # not now: says nothing about the call
    with pytest.raises(PartnerUnavailable):
        await tables_flow.refresh(runtime, venue)
    assert _table_listing_states(runtime, venue) == {"rms-1": "supported", "pos-1": "supported"}

    pos_server.status = 405  # no such call
    with pytest.raises(PartnerRejected):
        await tables_flow.refresh(runtime, venue)
    assert _table_listing_states(runtime, venue) == {"rms-1": "supported", "pos-1": "missing"}


def _table_listing_states(runtime: Runtime, venue: str) -> dict[str, str]:
    with runtime.db.read_sessions() as session:
        report = capabilities.report(session, venue)
    return {c.partner_id: c.state for c in report.capabilities if c.feature == "tables.list"}
