"""The apply document: the TOML file's shape, also the body of `POST /admin/apply`."""

from __future__ import annotations

from pydantic import ConfigDict

from maitred.camel import CamelModel
from maitred.partners.schemas import Change, PartnerSpec
from maitred.venues.schemas import VenueSpec


class ApplyDocument(CamelModel):
    """Partners and venues to create or update. Records absent from it are left alone."""

    model_config = ConfigDict(extra="forbid")

    partners: list[PartnerSpec] = []
    venues: list[VenueSpec] = []


class ApplyResult(CamelModel):
    """What applying a document did, one entry per record, in document order."""

    changes: list[Change]
