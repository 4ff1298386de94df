"""Declaring venues: links must name a partner of the role's kind; links move and drop."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from maitred.errors import BadRequest
from maitred.partners import service as partners_service
from maitred.partners.schemas import Change, PartnerSpec
from maitred.runtime import Runtime
from maitred.venues import service
from maitred.venues.schemas import LinkSpec, VenueRead, VenueSpec


@pytest.fixture
async def partners(runtime: Runtime) -> None:
    """An rms and a pos partner."""
    specs = [PartnerSpec(id="acme-rms", kind="rms"), PartnerSpec(id="acme-pos", kind="pos")]
    await runtime.writer.run(
        lambda s: [partners_service.upsert_partner(s, spec, runtime.secrets) for spec in specs]
    )


async def _upsert(runtime: Runtime, venue_id: str = "v", **fields: Any) -> Change:
    spec = VenueSpec.model_validate({"id": venue_id, **fields})
    return await runtime.writer.run(lambda s: service.upsert_venue(s, spec))


def _read(runtime: Runtime, venue_id: str = "v") -> VenueRead:
    with runtime.db.read_sessions() as session:
        return service.get_venue(session, venue_id)


RMS = {"partner": "acme-rms", "venue_id": "r-1"}
POS = {"partner": "acme-pos", "venue_id": "p-1"}


@pytest.mark.usefixtures("partners")
async def test_a_venue_is_created_with_its_links_and_defaults_to_utc(runtime: Runtime) -> None:
    assert (await _upsert(runtime, rms=RMS, pos=POS)).action == "created"
    venue = _read(runtime)
    assert venue.timezone == "UTC"
    assert (venue.rms, venue.pos) == (LinkSpec(**RMS), LinkSpec(**POS))


@pytest.mark.usefixtures("partners")
async def test_the_same_venue_again_is_unchanged(runtime: Runtime) -> None:
    await _upsert(runtime, rms=RMS, timezone="Europe/Madrid")
    before = _read(runtime)
    assert (await _upsert(runtime, rms=RMS, timezone="Europe/Madrid")).action == "unchanged"
    assert _read(runtime) == before


@pytest.mark.usefixtures("partners")
async def test_a_changed_external_id_and_a_dropped_role_are_updates(runtime: Runtime) -> None:
    await _upsert(runtime, rms=RMS, pos=POS)
    moved = {"partner": "acme-rms", "venue_id": "r-2"}
    assert (await _upsert(runtime, rms=moved)).action == "updated"
    venue = _read(runtime)
    assert venue.rms is not None
    assert venue.rms.venue_id == "r-2"
    assert venue.pos is None
    assert venue.updated_at > venue.created_at


@pytest.mark.usefixtures("partners")
async def test_a_partner_of_another_kind_is_refused_naming_the_role(runtime: Runtime) -> None:
    with pytest.raises(BadRequest) as refused:
        await _upsert(runtime, rms=POS)
    assert list(refused.value.details) == ["rms.partner"]


@pytest.mark.usefixtures("partners")
async def test_an_unknown_partner_is_refused(runtime: Runtime) -> None:
    with pytest.raises(BadRequest) as refused:
        await _upsert(runtime, pos={"partner": "nobody", "venue_id": "p"})
    assert list(refused.value.details) == ["pos.partner"]


@pytest.mark.usefixtures("partners")
async def test_a_partner_venue_id_used_by_another_venue_is_refused(runtime: Runtime) -> None:
    await _upsert(runtime, "v", rms=RMS)
    with pytest.raises(BadRequest) as refused:
        await _upsert(runtime, "w", rms=RMS)
    assert list(refused.value.details) == ["rms.venue_id"]


@pytest.mark.parametrize("timezone", ["Mars/Olympus", "not a zone", "../etc/passwd"])
def test_an_unknown_timezone_is_refused(timezone: str) -> None:
    with pytest.raises(ValidationError, match="unknown timezone"):
        VenueSpec.model_validate({"id": "v", "timezone": timezone})
