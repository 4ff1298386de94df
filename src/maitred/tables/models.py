"""Table registry (what each partner lists for a venue) and the RMS↔POS table mapping."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from maitred.db.base import Base, BigId, Timestamp

MAPPING_STATES = ("auto", "confirmed", "suggested")
ACTIVE_STATES = ("auto", "confirmed")

# One active mapping per RMS table; any number of suggestions (a partial unique index, which
# SQLite and PostgreSQL both enforce).
_ACTIVE_ONLY = text("state IN ('auto', 'confirmed')")


class _ListedTable:
    """Columns shared by both sides' table listings."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))  # the partner's own table id
    name: Mapped[str] = mapped_column(String(200))
    area: Mapped[str | None] = mapped_column(String(200))
    present: Mapped[bool] = mapped_column(Boolean, default=True)
    first_seen_at: Mapped[datetime] = mapped_column(Timestamp)
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp)
    gone_at: Mapped[datetime | None] = mapped_column(Timestamp)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[UniqueConstraint]:
        return (UniqueConstraint("venue_id", "external_id"),)


class PosTableRecord(_ListedTable, Base):
    """A table as the venue's POS lists it (kept when it disappears: `present=false`)."""

    __tablename__ = "pos_tables"


class RmsTableRecord(_ListedTable, Base):
    """A table as the venue's RMS lists it (kept when it disappears: `present=false`)."""

    __tablename__ = "rms_tables"


class TableMapping(Base):
    """An RMS table ↔ POS table pairing: applied (`auto`, `confirmed`) or `suggested`."""

    __tablename__ = "table_mappings"
    __table_args__ = (
        CheckConstraint("state IN ('auto', 'confirmed', 'suggested')", name="state"),
        UniqueConstraint("venue_id", "rms_table_id", "pos_table_id", "state"),
        Index(
            "uq_table_mappings_active",
            "venue_id",
            "rms_table_id",
            unique=True,
            sqlite_where=_ACTIVE_ONLY,
            postgresql_where=_ACTIVE_ONLY,
        ),
        Index("ix_table_mappings_pos", "venue_id", "pos_table_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    rms_table_id: Mapped[str] = mapped_column(String(200))  # the RMS's external table id
    pos_table_id: Mapped[str] = mapped_column(String(200))  # the POS's external table id
    state: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(200))
    # A stale mapping points at a table one side no longer lists; translation never uses it.
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    stale_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class TableSync(Base):
    """When a venue's tables were last fetched from its partners, and when they are due again
    (`tables.schedule`): after its links change, on the schedule, and after a failure."""

    __tablename__ = "table_syncs"

    venue_id: Mapped[str] = mapped_column(
        ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True
    )
    due_at: Mapped[datetime | None] = mapped_column(Timestamp)  # None: only when asked
    refreshed_at: Mapped[datetime | None] = mapped_column(Timestamp)  # the last success
    attempted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # since the last success
    last_error: Mapped[str | None] = mapped_column(Text)
