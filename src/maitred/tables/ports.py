"""What maitred needs from a partner that lists a venue's tables (either side), as neutral types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from maitred.errors import PartnerError
from maitred.monitoring.service import TraceRecord
from maitred.partners.reach import Http, Reach
from maitred.tables.rules import TableRef


@dataclass(frozen=True)
class TableListing:
    """A listing call's outcome: the tables, or the error; always the trace."""

    tables: list[TableRef] | None
    trace: TraceRecord
    error: PartnerError | None = None
    unsupported: bool = False  # the partner answered that it has no table listing


class TableSource(Protocol):
    """A partner adapter that may list a venue's tables (feature `tables.list`)."""

    @property
    def features(self) -> Mapping[str, str]:
        """The features the adapter has, each with the partner call it stands for."""
        ...

    async def list_tables(self, http: Http, reach: Reach) -> TableListing:
        """The venue's tables as the partner lists them; never raises for the partner's
        faults (they come back as the listing's error, with the trace)."""
        ...
