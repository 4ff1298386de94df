"""Our API's partner shapes: what an operator declares (`PartnerSpec`) and what reads show
(`PartnerRead`, never a secret), plus the `Change` every upsert reports."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from maitred import text

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


class PartnerFields(text.StorableModel):
    """A partner's declared state (the body of `PUT /admin/partners/{id}`).

    Plain fields are replaced (omitted means empty). Secrets are write-only, so a client that
    read the partner cannot send them back: an omitted secret keeps what is stored, an explicit
    null clears `api_key`/`token`, and the signing secret is generated when none exists.
    """

    model_config = ConfigDict(extra="forbid")

    kind: PartnerKind
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    api_key: ApiKey | None = None
    base_url: Url | None = None
    token: Token | None = None
    webhook_url: Url | None = None
    signing_secret: SigningSecret | None = None


class PartnerSpec(PartnerFields):
    """A partner's declared state with its id (one `[[partners]]` entry of an apply file)."""

    id: Slug


class PartnerRead(BaseModel):
    """A partner as reads show it: which secrets exist, never their values."""

    id: str
    kind: str
    name: str | None
    base_url: str | None
    webhook_url: str | None
    has_api_key: bool
    has_token: bool
    has_signing_secret: bool
    created_at: datetime
    updated_at: datetime


class SigningSecretRead(BaseModel):
    """The secret a partner uses to verify maitred's webhook signatures."""

    partner_id: str = Field(serialization_alias="partnerId")
    signing_secret: str = Field(serialization_alias="signingSecret")


class Change(BaseModel):
    """What one write did to one record."""

    kind: Literal["partner", "venue"]
    id: str
    action: Action
