"""`x-signature` (decision 19): the hex HMAC-SHA256 of the exact body bytes, keyed with the
partner's signing secret as it was given to the partner (its UTF-8 bytes, `whsec_` prefix and
all), sent beside the Standard Webhooks headers so a partner can check either."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "x-signature"


def sign(body: bytes, secret: str) -> str:
    """The `x-signature` value for `body`."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str | None) -> bool:
    """Whether `signature` is `body`'s (case of the hex digits ignored); constant-time."""
    if not signature:
        return False
    return hmac.compare_digest(sign(body, secret), signature.strip().lower())
