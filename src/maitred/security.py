"""Secrets: hashing inbound keys, encrypting outbound secrets at rest, redacting what we record."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

REDACTED = "[redacted]"
_SECRET_KEYS = re.compile(
    r"(authorization|token|secret|api[_-]?key|apikey|password|signature|cookie)", re.IGNORECASE
)
# The same words as plain substrings: on a 1 kB body, `in` on the lowered text takes ~2 µs
# where the case-insensitive alternation took ~50 µs (every inbound call's trace asks).
_SECRET_WORDS = (
    "authorization", "token", "secret", "apikey", "api_key", "api-key", "password",
    "signature", "cookie",
)  # fmt: skip


def mentions_secret(text: str) -> bool:
    """Whether `text` contains a word that names a secret (as `_SECRET_KEYS` matches)."""
    lowered = text.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def hash_key(key: str) -> str:
    """SHA-256 of an inbound API key (keys are high-entropy; a slow hash would cost every call)."""
    return hashlib.sha256(key.encode()).hexdigest()


def keys_match(presented_hash: str, stored_hash: str) -> bool:
    """Constant-time comparison of two key hashes."""
    return hmac.compare_digest(presented_hash.encode(), stored_hash.encode())


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def new_token() -> str:
    """A random URL-safe token."""
    return secrets.token_urlsafe(32)


class SecretBox:
    """Encrypts outbound secrets (tokens we present, signing secrets) for storage."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    @classmethod
    def from_settings(cls, secret_key: str | None, data_dir: Path) -> SecretBox:
        """Use the configured key, or one kept in `data_dir/maitred.key` (created 0600)."""
        if secret_key:
            return cls(secret_key)
        path = data_dir / "maitred.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(Fernet.generate_key().decode())
        return cls(path.read_text().strip())

    def encrypt(self, plaintext: str | None) -> str | None:
        """Ciphertext for storage; None stays None."""
        if plaintext is None:
            return None
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str | None) -> str | None:
        """Plaintext back; None stays None."""
        if ciphertext is None:
            return None
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:  # the key changed under the data
            raise RuntimeError("stored secret cannot be decrypted with this secret key") from exc


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers with credential values replaced."""
    return {k: (REDACTED if _SECRET_KEYS.search(k) else v) for k, v in headers.items()}


def redact_value(value: Any) -> Any:
    """A JSON value with every secret-looking key's value replaced, recursively."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and _SECRET_KEYS.search(k) else redact_value(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    return value


def redact_body(body: bytes | str | None, limit: int) -> str | None:
    """A body fit for a trace: secrets redacted when it is JSON, NUL bytes stripped, truncated."""
    if body is None:
        return None
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    # Parsing and re-encoding is only needed when a key could name a secret (~35 µs on a 0.5 kB
    # event, 4-7 % of an outbound delivery's CPU); the substring test is ~3 µs.
    if text[:1] in ("{", "[") and mentions_secret(text):
        with contextlib.suppress(ValueError):
            text = json.dumps(redact_value(json.loads(text)), separators=(",", ":"))
    text = text.replace("\x00", "")
    if len(text) > limit:
        return text[:limit] + f"…[{len(text) - limit} more]"
    return text


def scrub(text: str, secrets_: list[str]) -> str:
    """Replace any known secret value found in free text."""
    for secret in secrets_:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    return text
