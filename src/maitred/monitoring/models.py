"""Trace table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, BigId, Json, Timestamp


class Trace(Base):
    """One call in or out, with secrets redacted and bodies truncated."""

    __tablename__ = "traces"
    __table_args__ = (
        Index("ix_traces_at", "at"),
        Index("ix_traces_correlation", "correlation_id"),
        Index("ix_traces_partner_at", "partner_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(Timestamp)
    direction: Mapped[str] = mapped_column(String(8))  # "inbound" | "outbound"
    partner_id: Mapped[str | None] = mapped_column(String(64))
    venue_id: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(8))  # "success" | "failed"
    duration_ms: Mapped[float] = mapped_column()
    request_headers: Mapped[dict[str, Any] | None] = mapped_column(Json)
    request_body: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    delivery_id: Mapped[int | None] = mapped_column(BigId)
