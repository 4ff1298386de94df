"""Our API's partner shapes: what an operator declares (`PartnerSpec`) and what reads show
(`PartnerRead`, never a secret), plus the `Change` every upsert reports."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    ConfigDict,
    StringConstraints,
)

from maitred import text
from maitred.camel import CamelModel
from maitred.partners.models import DEFAULT_CONTRACT

MAX_KEY_LENGTH = 512  # longer Bearer values are refused before hashing
# Our ids: the length and the characters checked apart, so each error says which is wrong.
SLUG_MAX = 64
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
SLUG_RULE = "Must start with a lowercase letter or digit, then lowercase letters, digits, _ or -."
Slug = Annotated[str, StringConstraints(min_length=1, max_length=SLUG_MAX, pattern=SLUG_PATTERN)]
PartnerKind = Literal["rms", "pos", "channel"]
Action = Literal["created", "updated", "unchanged", "deleted"]


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if "@" in parts.netloc:
        # The HTTP client would send them as Basic auth beside the partner's Bearer token and
        # refuse every call; the message leaves them out (it is shown and logged).
        raise ValueError("must not carry credentials (user:password@); set `token` instead")
    return value


def _check_signing_secret(value: str) -> str:
    # Standard Webhooks: `whsec_` + base64 of the key bytes; partners verify with exactly this.
    try:
        raw = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not value.startswith("whsec_") or len(raw) < 16:
        raise ValueError("must be whsec_ followed by base64 of at least 16 bytes")
    return value


Url = Annotated[str, StringConstraints(max_length=2048), AfterValidator(_check_url)]
# Inbound keys are hashed with unsalted SHA-256, which is only safe for high-entropy keys.
ApiKey = Annotated[str, StringConstraints(min_length=16, max_length=MAX_KEY_LENGTH)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
SigningSecret = Annotated[str, AfterValidator(_check_signing_secret)]


class PartnerFields(CamelModel, text.StorableModel):
    """A partner's declared state (the body of `PUT /admin/partners/{id}`).

    Plain fields are replaced (omitted means empty). Secrets are write-only, so a client that
    read the partner cannot send them back: an omitted secret keeps what is stored, an explicit
    null clears `api_key`/`token`, and the signing secret is generated when none exists.
    """

    model_config = ConfigDict(extra="forbid")

    kind: PartnerKind
    # The API the partner speaks; checked against the contracts maitred knows when stored.
    contract: Annotated[str, StringConstraints(min_length=1, max_length=32)] = DEFAULT_CONTRACT
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    api_key: ApiKey | None = None
    base_url: Url | None = None
    token: Token | None = None
    webhook_url: Url | None = None
    signing_secret: SigningSecret | None = None


class PartnerSpec(PartnerFields):
    """A partner's declared state with its id (one `[[partners]]` entry of an apply file)."""

    id: Slug


class PartnerRead(CamelModel):
    """A partner as reads show it: which secrets exist, never their values."""

    id: str
    kind: str
    contract: str
    name: str | None
    base_url: str | None
    webhook_url: str | None
    has_api_key: bool
    has_token: bool
    has_signing_secret: bool
    created_at: datetime
    updated_at: datetime


class SigningSecretRead(CamelModel):
    """The secret a partner uses to verify maitred's webhook signatures."""

    partner_id: str
    signing_secret: str


class FieldChange(CamelModel):
    """One field a write changed. A secret's values are never shown: `before` and `after` say
    only whether one was set (`"[secret]"`) or not (null)."""

    field: str
    before: Any = None
    after: Any = None
    secret: bool = False


class Change(CamelModel):
    """What one write did to one record, field by field (`created` lists what it set)."""

    kind: Literal["partner", "venue"]
    id: str
    action: Action
    fields: list[FieldChange] = []


SECRET_SHOWN = "[secret]"  # noqa: S105 - a placeholder, not a secret


def changed_fields(
    before: dict[str, Any], after: dict[str, Any], *, secrets: frozenset[str] = frozenset()
) -> list[FieldChange]:
    """The fields whose value differs between two snapshots of a record, in `after`'s order
    (a secret's values replaced by whether one is set)."""
    changes = []
    for name, value in after.items():
        old = before.get(name)
        if old == value:
            continue
        if name in secrets:
            shown = [SECRET_SHOWN if v is not None else None for v in (old, value)]
            changes.append(FieldChange(field=name, before=shown[0], after=shown[1], secret=True))
        else:
            changes.append(FieldChange(field=name, before=old, after=value))
    return changes
