"""The storage half of a refresh, run as one writer job: store both listings, flag drift, match.

Tables are never deleted: one that stops being listed is kept with `present=false`. A mapping
that points at such a table becomes stale (translation skips it) and recovers by itself when the
same table id is listed again. An `auto` mapping whose table was renamed so that the names no
longer match is stale too. Matching never touches a `confirmed` mapping, never auto-applies a
pair the operator unmapped, and replaces the previous suggestions (unchanged rows are kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from maitred.tables import repository as repo
from maitred.tables import rules
from maitred.tables.models import ACTIVE_STATES, TableMapping
from maitred.tables.rules import Candidate, TableRef
from maitred.tables.schemas import MappingRead, RefreshReport, Renamed, SideReport

UNMAPPED_REASON = "unmapped by operator"
GONE_PREFIX = "gone: "
RENAMED_PREFIX = "renamed: "


def apply_refresh(
    session: Session,
    *,
    venue_id: str,
    rms: Sequence[TableRef] | None,
    pos: Sequence[TableRef] | None,
    at: datetime,
) -> RefreshReport:
    """Store both listings, flag drift and apply matching; flushes, never commits. A side
    given as None was not listed (its partner's contract has no listing): its stored tables
    stand for it, unchanged."""
    rms_report, rms = _listed(session, "rms", venue_id, rms, at)
    pos_report, pos = _listed(session, "pos", venue_id, pos, at)
    rows = repo.mappings(session, venue_id)
    renamed = {r.id for r in rms_report.renamed}, {r.id for r in pos_report.renamed}
    stale, recovered = flag_drift(rows, rms, pos, renamed, at)
    candidates = rules.match(rms, pos)
    auto = apply_auto(session, venue_id, rows, candidates, at)
    suggestions = replace_suggestions(session, venue_id, rows, candidates, auto, at)
    session.flush()
    return RefreshReport(
        venue_id=venue_id,
        rms=rms_report,
        pos=pos_report,
        auto_applied=_read(auto),
        suggestions=_read(suggestions),
        stale=_read(stale),
        recovered=_read(recovered),
    )


def _listed(
    session: Session, side: str, venue_id: str, listed: Sequence[TableRef] | None, at: datetime
) -> tuple[SideReport, Sequence[TableRef]]:
    """One side's report and tables: the listing stored, or the stored tables when unlisted."""
    if listed is not None:
        return store_listing(session, side, venue_id, listed, at), listed
    stored = [
        TableRef(table.external_id, table.name, table.area)
        for table in repo.tables(session, side, venue_id)
        if table.present
    ]
    return SideReport(count=len(stored)), stored


def store_listing(
    session: Session, side: str, venue_id: str, listed: Sequence[TableRef], at: datetime
) -> SideReport:
    """Insert new tables, update seen ones, mark unlisted ones gone; say what changed."""
    existing = {t.external_id: t for t in repo.tables(session, side, venue_id)}
    report = SideReport(count=len(listed))
    for ref in listed:
        row = existing.get(ref.id)
        if row is None:
            session.add(
                repo.SIDES[side](
                    venue_id=venue_id,
                    external_id=ref.id,
                    name=ref.name,
                    area=ref.area,
                    present=True,
                    first_seen_at=at,
                    last_seen_at=at,
                )
            )
            report.added.append(ref.id)
            continue
        if not row.present:
            row.present, row.gone_at = True, None
            report.returned.append(ref.id)
        if row.name != ref.name:
            report.renamed.append(Renamed(id=ref.id, old_name=row.name, new_name=ref.name))
            row.name = ref.name
        row.area, row.last_seen_at = ref.area, at
    listed_ids = {ref.id for ref in listed}
    for external_id, row in existing.items():
        if row.present and external_id not in listed_ids:
            row.present, row.gone_at = False, at
            report.gone.append(external_id)
    return report


def flag_drift(
    rows: Sequence[TableMapping],
    rms: Sequence[TableRef],
    pos: Sequence[TableRef],
    renamed: tuple[set[str], set[str]],
    at: datetime,
) -> tuple[list[TableMapping], list[TableMapping]]:
    """Mark active mappings onto vanished or no-longer-matching tables stale; recover returns."""
    rms_by_id, pos_by_id = {t.id: t for t in rms}, {t.id: t for t in pos}
    stale: list[TableMapping] = []
    recovered: list[TableMapping] = []
    for mapping in (m for m in rows if m.state in ACTIVE_STATES):
        reason = _drift(mapping, rms_by_id, pos_by_id, renamed)
        reason = None if reason is None else reason[:200]  # the column's width
        if reason is not None and not mapping.stale:
            mapping.stale, mapping.stale_reason, mapping.updated_at = True, reason, at
            stale.append(mapping)
        elif reason is not None and _is_gone(mapping) and reason != mapping.stale_reason:
            mapping.stale_reason, mapping.updated_at = reason, at
        elif reason is None and mapping.stale and _is_gone(mapping):
            mapping.stale, mapping.stale_reason, mapping.updated_at = False, None, at
            recovered.append(mapping)
    return stale, recovered


def _drift(
    mapping: TableMapping,
    rms_by_id: dict[str, TableRef],
    pos_by_id: dict[str, TableRef],
    renamed: tuple[set[str], set[str]],
) -> str | None:
    rms, pos = rms_by_id.get(mapping.rms_table_id), pos_by_id.get(mapping.pos_table_id)
    gone = [
        f"{side} table {table_id} is no longer listed"
        for side, table_id, ref in (
            ("RMS", mapping.rms_table_id, rms),
            ("POS", mapping.pos_table_id, pos),
        )
        if ref is None
    ]
    if gone or rms is None or pos is None:
        return GONE_PREFIX + "; ".join(gone)
    was_renamed = mapping.rms_table_id in renamed[0] or mapping.pos_table_id in renamed[1]
    if mapping.state == "auto" and was_renamed:
        confidence, _ = rules.score(rms, pos)
        if confidence < rules.AUTO_THRESHOLD:
            return f"{RENAMED_PREFIX}'{rms.name}' and '{pos.name}' no longer match"
    if mapping.stale and not _is_gone(mapping):
        return mapping.stale_reason  # renamed-stale stays until someone confirms or rematches
    return None


def _is_gone(mapping: TableMapping) -> bool:
    return (mapping.stale_reason or "").startswith(GONE_PREFIX)


def apply_auto(
    session: Session,
    venue_id: str,
    rows: Sequence[TableMapping],
    candidates: Sequence[Candidate],
    at: datetime,
) -> list[TableMapping]:
    """Apply unambiguous candidates to RMS tables without a usable mapping (never `confirmed`)."""
    active = {m.rms_table_id: m for m in rows if m.state in ACTIVE_STATES}
    taken = {m.pos_table_id for m in active.values() if not m.stale}
    blocked = _blocked(rows)
    applied: list[TableMapping] = []
    for candidate in rules.unambiguous(candidates):
        current = active.get(candidate.rms_id)
        if current is not None and (current.state == "confirmed" or not current.stale):
            continue
        if candidate.pos_id in taken or (candidate.rms_id, candidate.pos_id) in blocked:
            continue
        if current is not None:  # a stale auto mapping gives way to a fresh match
            session.delete(current)
            session.flush()  # the delete must reach the unique index before the insert
            del active[candidate.rms_id]
        mapping = _new(venue_id, candidate, "auto", at)
        session.add(mapping)
        applied.append(mapping)
        taken.add(candidate.pos_id)
    return applied


def replace_suggestions(
    session: Session,
    venue_id: str,
    rows: Sequence[TableMapping],
    candidates: Sequence[Candidate],
    applied: Sequence[TableMapping],
    at: datetime,
) -> list[TableMapping]:
    """Store the candidates nobody applied as suggestions, replacing the previous ones.

    RMS tables whose mapping is stale get suggestions too: someone has to pick a new table.
    """
    settled = {m.rms_table_id for m in rows if m.state in ACTIVE_STATES and not m.stale}
    settled |= {m.rms_table_id for m in applied}
    taken = {m.pos_table_id for m in rows if m.state in ACTIVE_STATES and not m.stale}
    taken |= {m.pos_table_id for m in applied}
    blocked = _blocked(rows)
    wanted = {
        (c.rms_id, c.pos_id): c
        for c in candidates
        if c.rms_id not in settled and c.pos_id not in taken and (c.rms_id, c.pos_id) not in blocked
    }
    existing = {
        (m.rms_table_id, m.pos_table_id): m
        for m in rows
        if m.state == "suggested" and m.reason != UNMAPPED_REASON
    }
    for key, mapping in existing.items():
        if key not in wanted:
            session.delete(mapping)
    kept: list[TableMapping] = []
    for key, candidate in wanted.items():
        row = existing.get(key)
        if row is None:
            row = _new(venue_id, candidate, "suggested", at)
            session.add(row)
        elif (row.confidence, row.reason) != (candidate.confidence, candidate.reason):
            row.confidence, row.reason, row.updated_at = candidate.confidence, candidate.reason, at
        kept.append(row)
    return kept


def _blocked(rows: Sequence[TableMapping]) -> set[tuple[str, str]]:
    return {
        (m.rms_table_id, m.pos_table_id)
        for m in rows
        if m.state == "suggested" and m.reason == UNMAPPED_REASON
    }


def _new(venue_id: str, candidate: Candidate, state: str, at: datetime) -> TableMapping:
    return TableMapping(
        venue_id=venue_id,
        rms_table_id=candidate.rms_id,
        pos_table_id=candidate.pos_id,
        state=state,
        confidence=candidate.confidence,
        reason=candidate.reason,
        stale=False,
        stale_reason=None,
        updated_at=at,
    )


def _read(rows: Sequence[TableMapping]) -> list[MappingRead]:
    return [MappingRead.model_validate(m) for m in rows]
