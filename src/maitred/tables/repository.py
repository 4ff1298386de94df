"""Every query of the tables domain."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from maitred.db.sql import dialect_sql, execute
from maitred.partners.models import Partner
from maitred.tables.models import ACTIVE_STATES, PosTableRecord, RmsTableRecord, TableMapping
from maitred.venues.models import Venue, VenueLink

TableRecord = PosTableRecord | RmsTableRecord
SIDES: dict[str, type[PosTableRecord] | type[RmsTableRecord]] = {
    "pos": PosTableRecord,
    "rms": RmsTableRecord,
}


@dataclass(frozen=True)
class PartnerLink:
    """A partner linked to a venue in one role, with what calling it needs."""

    role: str
    partner_id: str
    external_venue_id: str
    base_url: str | None
    token_encrypted: str | None
    contract: str  # the API the partner speaks


def venue_exists(session: Session, venue_id: str) -> bool:
    """True when maitred knows the venue."""
    return session.get(Venue, venue_id) is not None


def partner_links(session: Session, venue_id: str) -> dict[str, PartnerLink]:
    """The venue's POS and RMS links by role."""
    rows = session.execute(
        select(VenueLink.role, VenueLink.partner_id, VenueLink.external_id, Partner)
        .join(Partner, Partner.id == VenueLink.partner_id)
        .where(VenueLink.venue_id == venue_id, VenueLink.role.in_(SIDES))
        .order_by(VenueLink.id)
    )
    links: dict[str, PartnerLink] = {}
    for role, partner_id, external_id, partner in rows:
        links.setdefault(
            role,
            PartnerLink(
                role,
                partner_id,
                external_id,
                partner.base_url,
                partner.token_encrypted,
                partner.contract,
            ),
        )
    return links


def tables(session: Session, side: str, venue_id: str) -> list[TableRecord]:
    """Every table one side ever listed for the venue, by name then id."""
    model = SIDES[side]
    statement = select(model).where(model.venue_id == venue_id)
    return list(session.scalars(statement.order_by(model.name, model.external_id)))


def table(session: Session, side: str, venue_id: str, external_id: str) -> TableRecord | None:
    """One table by its partner's id."""
    model = SIDES[side]
    found = session.scalars(
        select(model).where(model.venue_id == venue_id, model.external_id == external_id)
    ).one_or_none()
    return cast(TableRecord | None, found)


def mappings(session: Session, venue_id: str) -> list[TableMapping]:
    """Every mapping row of the venue (active and suggested), in a stable order."""
    return list(
        session.scalars(
            select(TableMapping)
            .where(TableMapping.venue_id == venue_id)
            .order_by(TableMapping.rms_table_id, TableMapping.confidence.desc(), TableMapping.id)
        )
    )


def active_mapping(session: Session, venue_id: str, rms_table_id: str) -> TableMapping | None:
    """The auto or confirmed mapping of one RMS table."""
    return session.scalars(
        select(TableMapping).where(
            TableMapping.venue_id == venue_id,
            TableMapping.rms_table_id == rms_table_id,
            TableMapping.state.in_(ACTIVE_STATES),
        )
    ).one_or_none()


def usable_by_rms(session: Session, venue_id: str, rms_ids: Sequence[str]) -> dict[str, str]:
    """RMS id → POS id for the active, non-stale mappings of these RMS tables."""
    rows = session.execute(
        select(TableMapping.rms_table_id, TableMapping.pos_table_id).where(
            TableMapping.venue_id == venue_id,
            TableMapping.rms_table_id.in_(set(rms_ids)),
            TableMapping.state.in_(ACTIVE_STATES),
            TableMapping.stale.is_(False),
        )
    )
    return {rms: pos for rms, pos in rows}


def usable_by_pos(
    session: Session, venue_id: str, pos_ids: Sequence[str] | None
) -> dict[str, list[str]]:
    """POS id → RMS ids (sorted) for the active, non-stale mappings onto these POS tables
    (`None`: onto every table of the venue).

    A plain statement on the transaction's connection: every `pos_order` event translates its
    tables, and the ORM query cost more than a tenth of a POS update (ARCHITECTURE §3)."""
    wanted = sorted(set(pos_ids)) if pos_ids is not None else []
    if pos_ids is not None and not wanted:
        return {}
    found: dict[str, list[str]] = {}
    params: dict[str, object] = {f"p{i}": pos_id for i, pos_id in enumerate(wanted)}
    params |= {"venue_id": venue_id, "stale": False}
    params |= {f"s{i}": state for i, state in enumerate(ACTIVE_STATES)}
    cursor = execute(session.connection(), _usable_sql(len(wanted)), params)
    for pos, rms in cursor.fetchall():
        found.setdefault(pos, []).append(rms)
    cursor.close()
    return found


@functools.lru_cache(maxsize=32)
def _usable_sql(count: int) -> dict[str, str]:
    # Only numbered placeholders are formatted in; every value is a bound parameter.
    ids = ", ".join(f":p{i}" for i in range(count))
    states = ", ".join(f":s{i}" for i in range(len(ACTIVE_STATES)))
    which = f" AND pos_table_id IN ({ids})" if count else ""
    sql = (
        "SELECT pos_table_id, rms_table_id FROM table_mappings"  # noqa: S608
        f" WHERE venue_id = :venue_id{which} AND state IN ({states})"
        " AND stale = :stale ORDER BY rms_table_id"
    )
    return dialect_sql(sql)


def present_pos_tables(session: Session, venue_id: str) -> list[PosTableRecord]:
    """The POS tables currently listed, by name then id."""
    return list(
        session.scalars(
            select(PosTableRecord)
            .where(PosTableRecord.venue_id == venue_id, PosTableRecord.present.is_(True))
            .order_by(PosTableRecord.name, PosTableRecord.external_id)
        )
    )


def delete_active_of_rms(session: Session, venue_id: str, rms_table_id: str) -> None:
    """Remove the active mapping of one RMS table."""
    session.execute(
        delete(TableMapping).where(
            TableMapping.venue_id == venue_id,
            TableMapping.rms_table_id == rms_table_id,
            TableMapping.state.in_(ACTIVE_STATES),
        )
    )


def delete_auto_onto_pos(session: Session, venue_id: str, pos_table_id: str) -> None:
    """Remove the `auto` mappings that point at one POS table."""
    session.execute(
        delete(TableMapping).where(
            TableMapping.venue_id == venue_id,
            TableMapping.pos_table_id == pos_table_id,
            TableMapping.state == "auto",
        )
    )


def delete_suggestions(session: Session, venue_id: str, rms_table_id: str) -> None:
    """Remove every suggestion for one RMS table."""
    session.execute(
        delete(TableMapping).where(
            TableMapping.venue_id == venue_id,
            TableMapping.rms_table_id == rms_table_id,
            TableMapping.state == "suggested",
        )
    )
