"""Declaring partners: what counts as a change, how secrets are kept, what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from maitred.errors import BadRequest, Conflict, NotFound
from maitred.partners import service
from maitred.partners.models import Partner
from maitred.partners.schemas import Change, PartnerRead, PartnerSpec
from maitred.runtime import Runtime
from maitred.security import hash_key, new_signing_secret
from maitred.venues import service as venues_service
from maitred.venues.schemas import VenueSpec

KEY = "partner-service-key-0a1b2c3d"


async def _upsert(runtime: Runtime, **fields: Any) -> Change:
    spec = PartnerSpec(**{"id": "acme", "kind": "rms", **fields})
    return await runtime.writer.run(lambda s: service.upsert_partner(s, spec, runtime.secrets))


def _row(runtime: Runtime, partner_id: str = "acme") -> Partner:
    with runtime.db.read_sessions() as session:
        return session.scalars(select(Partner).where(Partner.id == partner_id)).one()


async def test_same_plaintext_secrets_again_is_unchanged(runtime: Runtime) -> None:
    fields = {"api_key": KEY, "token": "outbound-token", "base_url": "https://acme.example"}
    assert (await _upsert(runtime, **fields)).action == "created"
    before = _row(runtime)
    assert (await _upsert(runtime, **fields)).action == "unchanged"
    after = _row(runtime)
    assert (after.token_encrypted, after.updated_at) == (before.token_encrypted, before.updated_at)


async def test_a_new_token_is_an_update(runtime: Runtime) -> None:
    await _upsert(runtime, token="first-token")
    assert (await _upsert(runtime, token="second-token")).action == "updated"
    assert runtime.secrets.decrypt(_row(runtime).token_encrypted) == "second-token"


async def test_omitted_secrets_are_kept_and_plain_fields_replaced(runtime: Runtime) -> None:
    await _upsert(runtime, api_key=KEY, token="tok", name="Acme")
    secret = _row(runtime).signing_secret_encrypted
    assert (await _upsert(runtime)).action == "updated"  # name dropped
    row = _row(runtime)
    assert (row.name, row.api_key_hash) == (None, hash_key(KEY))
    assert runtime.secrets.decrypt(row.token_encrypted) == "tok"
    assert row.signing_secret_encrypted == secret


async def test_explicit_null_clears_key_and_token(runtime: Runtime) -> None:
    await _upsert(runtime, api_key=KEY, token="tok")
    await _upsert(runtime, api_key=None, token=None)
    row = _row(runtime)
    assert (row.api_key_hash, row.token_encrypted) == (None, None)


async def test_a_signing_secret_is_generated_once(runtime: Runtime) -> None:
    await _upsert(runtime)
    with runtime.db.read_sessions() as session:
        first = service.signing_secret(session, "acme", runtime.secrets).signing_secret
    await _upsert(runtime, name="again")
    with runtime.db.read_sessions() as session:
        assert service.signing_secret(session, "acme", runtime.secrets).signing_secret == first


async def test_a_given_signing_secret_is_used(runtime: Runtime) -> None:
    secret = new_signing_secret()
    await _upsert(runtime, signing_secret=secret)
    assert runtime.secrets.decrypt(_row(runtime).signing_secret_encrypted) == secret


async def test_another_partners_key_is_refused(runtime: Runtime) -> None:
    await _upsert(runtime, api_key=KEY)
    spec = PartnerSpec(id="other", kind="pos", api_key=KEY)
    with pytest.raises(BadRequest) as refused:
        await runtime.writer.run(lambda s: service.upsert_partner(s, spec, runtime.secrets))
    assert "api_key" in refused.value.details


async def test_kind_cannot_change_while_linked(runtime: Runtime) -> None:
    await _upsert(runtime)
    venue = VenueSpec.model_validate({"id": "v", "rms": {"partner": "acme", "venue_id": "x"}})
    await runtime.writer.run(lambda s: venues_service.upsert_venue(s, venue))
    with pytest.raises(Conflict) as refused:
        await _upsert(runtime, kind="pos")
    assert "kind" in refused.value.details


async def test_delete_removes_the_partner_and_its_links(runtime: Runtime) -> None:
    await _upsert(runtime)
    venue = VenueSpec.model_validate({"id": "v", "rms": {"partner": "acme", "venue_id": "x"}})
    await runtime.writer.run(lambda s: venues_service.upsert_venue(s, venue))
    change = await runtime.writer.run(lambda s: service.delete_partner(s, "acme"))
    assert change.action == "deleted"
    with runtime.db.read_sessions() as session:
        assert venues_service.get_venue(session, "v").rms is None
    with pytest.raises(NotFound):
        await runtime.writer.run(lambda s: service.delete_partner(s, "acme"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "Has Spaces"),
        ("kind", "till"),
        ("api_key", "short"),
        ("base_url", "ftp://acme"),
        ("signing_secret", "not-a-whsec"),
    ],
)
def test_invalid_fields_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        PartnerSpec.model_validate({"id": "acme", "kind": "rms", field: value})


def test_reads_have_no_secret_fields() -> None:
    secret_fields = {"api_key", "token", "signing_secret", "api_key_hash", "token_encrypted"}
    assert not secret_fields & set(PartnerRead.model_fields)
