"""What the admin API and the CLI show of flags (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from maitred.flags.kinds import KINDS
from maitred.flags.models import Flag
from maitred.text import StorableModel


class FlagRead(BaseModel):
    """Something maitred could not settle alone (a held booking, refused items, …)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: int
    venue_id: str | None
    kind: str
    subject: str
    message: str
    data: dict[str, Any] | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    settled_by: str | None = Field(
        description="The event that resolves this kind of flag by itself (none: an operator)."
    )

    @classmethod
    def of(cls, flag: Flag) -> FlagRead:
        """The view of one stored flag."""
        kind = KINDS.get(flag.kind)
        return cls(
            id=flag.id,
            venue_id=flag.venue_id,
            kind=flag.kind,
            subject=flag.subject,
            message=flag.message,
            data=flag.data,
            created_at=flag.created_at,
            acknowledged_at=flag.acknowledged_at,
            resolved_at=flag.resolved_at,
            resolved_by=flag.resolved_by,
            settled_by=kind.settled_by if kind else None,
        )


class FlagPage(BaseModel):
    """Flags, newest first."""

    items: list[FlagRead]


class FlagResolution(StorableModel):
    """An operator's resolution of a flag (the note is kept in `resolvedBy`)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=180)
