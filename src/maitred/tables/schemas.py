"""Our API shapes for tables: listings, mappings, the refresh report and the mappings view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ConfigDict, Field

from maitred import text
from maitred.camel import CamelModel


@dataclass(frozen=True)
class PosTable:
    """A POS table as maitred shows it to an RMS (`GET /venues/{venueId}/pos-tables`)."""

    id: str
    name: str
    area: str | None


@dataclass(frozen=True)
class Translation:
    """Table ids translated to the other side (in input order, without duplicates: POS ids
    from `translate_rms_to_pos`, RMS ids from `translate_pos_to_rms`), and the ids that could
    not be translated."""

    table_ids: list[str]
    missing: list[str]


class TableRead(CamelModel):
    """A table as one side lists it (or listed it, when `present` is false)."""

    model_config = ConfigDict(from_attributes=True)

    id: str = Field(validation_alias="external_id")
    name: str
    area: str | None
    present: bool
    first_seen_at: datetime
    last_seen_at: datetime
    gone_at: datetime | None


class MappingRead(CamelModel):
    """An RMS table ↔ POS table pairing."""

    model_config = ConfigDict(from_attributes=True)

    rms_table_id: str
    pos_table_id: str
    state: str
    confidence: float
    reason: str
    stale: bool
    stale_reason: str | None
    updated_at: datetime


class Renamed(CamelModel):
    """A table whose id stayed while its name changed."""

    id: str
    old_name: str
    new_name: str


class SideReport(CamelModel):
    """What a refresh saw on one side."""

    count: int = 0
    added: list[str] = Field(default_factory=list)
    gone: list[str] = Field(default_factory=list)
    returned: list[str] = Field(default_factory=list)
    renamed: list[Renamed] = Field(default_factory=list)


class RefreshReport(CamelModel):
    """The outcome of one refresh: listings, drift and matching."""

    venue_id: str
    rms: SideReport
    pos: SideReport
    auto_applied: list[MappingRead] = Field(default_factory=list)
    suggestions: list[MappingRead] = Field(default_factory=list)
    stale: list[MappingRead] = Field(default_factory=list, description="Newly stale mappings.")
    recovered: list[MappingRead] = Field(
        default_factory=list, description="Stale mappings whose tables are listed again."
    )


class MappingsView(CamelModel):
    """Everything an operator needs to review a venue's table mapping."""

    venue_id: str
    rms_tables: list[TableRead]
    pos_tables: list[TableRead]
    mappings: list[MappingRead] = Field(description="Active mappings (auto, confirmed).")
    suggestions: list[MappingRead]
    stale: list[MappingRead]
    unmapped_rms: list[TableRead] = Field(description="Present RMS tables without a usable map.")
    unmapped_pos: list[TableRead] = Field(description="Present POS tables nothing maps to.")


class MappingUpdate(CamelModel, text.StorableModel):
    """Body of `PUT /admin/venues/{venue_id}/table-mappings/{rms_table_id}`."""

    pos_table_id: str = Field(min_length=1, max_length=200)
