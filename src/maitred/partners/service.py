"""Partner rules that need data: authenticating callers, and declaring, reading and deleting
partners (secrets hashed or encrypted on the way in, never shown on the way out)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from maitred import clock
from maitred.deliveries import service as deliveries
from maitred.errors import BadRequest, Conflict, NotFound, field_details
from maitred.netguard import NetPolicy
from maitred.partners import contracts, repository
from maitred.partners.models import Partner
from maitred.partners.schemas import (
    MAX_KEY_LENGTH,
    Action,
    Change,
    PartnerRead,
    PartnerSpec,
    SigningSecretRead,
    changed_fields,
)
from maitred.security import SecretBox, hash_key, keys_match, new_signing_secret
from maitred.tables import schedule as tables_schedule
from maitred.venues import changes as venue_changes


@dataclass(frozen=True)
class Caller:
    """The authenticated partner behind an inbound request."""

    partner_id: str
    kind: str


class PartnerDirectory:
    """Answers "which partner holds this key?" from memory, refreshed every few seconds so
    authentication costs no database round trip on the hot path."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._lock = threading.Lock()
        self._by_hash: dict[str, tuple[str, Caller]] = {}
        self._loaded_at = float("-inf")

    def invalidate(self) -> None:
        """Forget the cache (after this process changed a partner)."""
        with self._lock:
            self._loaded_at = float("-inf")

    def _refresh(self) -> None:
        with self._sessions() as session:
            rows = session.execute(
                select(Partner.id, Partner.kind, Partner.api_key_hash).where(
                    Partner.api_key_hash.is_not(None)
                )
            ).all()
        self._by_hash = {
            str(h): (str(h), Caller(partner_id=pid, kind=kind)) for pid, kind, h in rows
        }
        self._loaded_at = time.monotonic()

    def authenticate(self, key: str | None) -> Caller | None:
        """The partner whose stored key hash matches `key`, compared in constant time."""
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        presented = hash_key(key)
        with self._lock:
            if time.monotonic() - self._loaded_at > self._ttl:
                self._refresh()
            found = self._by_hash.get(presented)
        if found is None:
            return None
        stored, caller = found
        return caller if keys_match(presented, stored) else None


def check_urls(spec: PartnerSpec, policy: NetPolicy) -> None:
    """BadRequest naming the field when a URL's host is an IP address maitred will not call
    (a convenience: every connection is checked again when it is made, after DNS)."""
    for name in ("base_url", "webhook_url"):
        url = getattr(spec, name)
        reason = policy.url_refusal(url) if url else None
        if reason is not None:
            raise BadRequest(details=field_details(name, reason))


def upsert_partner(session: Session, spec: PartnerSpec, box: SecretBox) -> Change:
    """Make partner `spec.id` match `spec`; "unchanged" (no write at all) when it already does.
    The change lists each field it set or changed (secrets without their values)."""
    given = spec.model_fields_set
    contracts.check(spec.contract, spec.kind)
    key_hash = hash_key(spec.api_key) if spec.api_key is not None else None
    if key_hash is not None and repository.key_holder(session, key_hash) not in (None, spec.id):
        raise BadRequest(details=field_details("api_key", "already used by another partner"))
    partner = repository.get(session, spec.id)
    if partner is None:
        at = clock.now()
        partner = Partner(id=spec.id, created_at=at, updated_at=at)
        _assign(partner, spec, box, key_hash)
        session.add(partner)
        session.flush()
        return _change(spec.id, "created", {}, _state(partner))
    if spec.kind != partner.kind and repository.linked_roles(session, spec.id):
        message = f"partner is linked to venues as {partner.kind}; unlink it first"
        raise Conflict(details=field_details("kind", message))
    before = _state(partner)
    _assign(partner, spec, box, key_hash, keep_api_key="api_key" not in given)
    after = _state(partner)
    if after == before:
        return Change(kind="partner", id=spec.id, action="unchanged")
    partner.updated_at = clock.now()
    session.flush()
    _reach_changed(session, partner, before)
    return _change(spec.id, "updated", before, after)


def _change(
    partner_id: str, action: Action, before: dict[str, object], after: dict[str, object]
) -> Change:
    fields = changed_fields(before, after, secrets=_SECRETS)
    return Change(kind="partner", id=partner_id, action=action, fields=fields)


def _reach_changed(session: Session, partner: Partner, before: dict[str, object]) -> None:
    """How maitred reaches the partner changed: its deliveries, retries and replays included,
    go to its current URLs, and the tables of its venues are fetched again (with its current
    contract)."""
    if (before["base_url"], before["webhook_url"]) != (partner.base_url, partner.webhook_url):
        deliveries.move_partner_endpoints(
            session,
            partner_id=partner.id,
            webhook_url=partner.webhook_url,
            base_url=partner.base_url,
        )
    reach = ("base_url", "token", "contract")
    if tuple(before[name] for name in reach) != (
        partner.base_url,
        partner.token_encrypted,
        partner.contract,
    ):
        venue_changes.links_changed(session, tables_schedule.linked_to(session, partner.id))


def _state(partner: Partner) -> dict[str, object]:
    """The partner's stored fields under their declared names (secrets as stored: a hash or a
    ciphertext, which changes only when the secret does)."""
    return {name: getattr(partner, column) for name, column in _COMPARED.items()}


_COMPARED = {
    "kind": "kind",
    "name": "name",
    "api_key": "api_key_hash",
    "base_url": "base_url",
    "token": "token_encrypted",
    "webhook_url": "webhook_url",
    "signing_secret": "signing_secret_encrypted",
    "contract": "contract",
}
_SECRETS = frozenset({"api_key", "token", "signing_secret"})


def _assign(
    partner: Partner,
    spec: PartnerSpec,
    box: SecretBox,
    key_hash: str | None,
    *,
    keep_api_key: bool = False,
) -> None:
    """Copy `spec` onto `partner`, re-encrypting a secret only when its plaintext changed
    (ciphertexts differ on every encryption, so comparing them would never say unchanged)."""
    given = spec.model_fields_set
    partner.kind = spec.kind
    partner.contract = spec.contract
    partner.name = spec.name
    partner.base_url = spec.base_url
    partner.webhook_url = spec.webhook_url
    if not keep_api_key:
        partner.api_key_hash = key_hash
    if "token" in given and box.decrypt(partner.token_encrypted) != spec.token:
        partner.token_encrypted = box.encrypt(spec.token)
    secret = spec.signing_secret
    if secret is not None and box.decrypt(partner.signing_secret_encrypted) != secret:
        partner.signing_secret_encrypted = box.encrypt(secret)
    if partner.signing_secret_encrypted is None:
        partner.signing_secret_encrypted = box.encrypt(new_signing_secret())


def get_partner(session: Session, partner_id: str) -> PartnerRead:
    """One partner, without secrets; NotFound when absent."""
    return to_read(_require(session, partner_id))


def list_partners(session: Session) -> list[PartnerRead]:
    """Every partner, without secrets."""
    return [to_read(partner) for partner in repository.list_all(session)]


def delete_partner(session: Session, partner_id: str) -> Change:
    """Delete a partner with its venue links; NotFound when absent."""
    if not repository.delete_one(session, partner_id):
        raise NotFound(f"No partner {partner_id!r}")
    return Change(kind="partner", id=partner_id, action="deleted")


def signing_secret(session: Session, partner_id: str, box: SecretBox) -> SigningSecretRead:
    """The plaintext secret maitred signs this partner's webhooks with (admin only)."""
    secret = box.decrypt(_require(session, partner_id).signing_secret_encrypted)
    if secret is None:
        raise NotFound(f"Partner {partner_id!r} has no signing secret")
    return SigningSecretRead(partner_id=partner_id, signing_secret=secret)


def to_read(partner: Partner) -> PartnerRead:
    """The secret-free view of a partner row."""
    return PartnerRead(
        id=partner.id,
        kind=partner.kind,
        contract=partner.contract,
        name=partner.name,
        base_url=partner.base_url,
        webhook_url=partner.webhook_url,
        has_api_key=partner.api_key_hash is not None,
        has_token=partner.token_encrypted is not None,
        has_signing_secret=partner.signing_secret_encrypted is not None,
        created_at=partner.created_at,
        updated_at=partner.updated_at,
    )


def _require(session: Session, partner_id: str) -> Partner:
    partner = repository.get(session, partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id!r}")
    return partner


def kind_of(session: Session, partner_id: str) -> str | None:
    """The partner's kind, or None when there is no such partner."""
    partner = repository.get(session, partner_id)
    return partner.kind if partner is not None else None
