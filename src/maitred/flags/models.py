"""Flag table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Json, Timestamp


class Flag(Base):
    """Something maitred could not settle alone and will not hide: shown until resolved."""

    __tablename__ = "flags"
    # raise_flag looks up the open flag of one (venue, kind, subject) on every call: without
    # kind and subject in the index, that lookup scans every open flag of the venue.
    __table_args__ = (Index("ix_flags_open", "venue_id", "kind", "subject", "resolved_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    venue_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))  # one of `flags.kinds.KINDS`
    subject: Mapped[str] = mapped_column(String(255))  # what it is about, e.g. "booking:B-1"
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # An operator has seen it; it stays open (and loses the mark if its message changes).
    acknowledged_at: Mapped[datetime | None] = mapped_column(Timestamp)
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Who settled it: "operator" (with the note given), or the event that settled it.
    resolved_by: Mapped[str | None] = mapped_column(String(200))
