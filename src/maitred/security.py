"""Secrets: hashing inbound keys, encrypting outbound secrets at rest, redacting what we record."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

REDACTED = "[redacted]"
HEADERS_LIMIT = 4096  # characters of a trace's headers kept, names and values together
_SECRET_KEYS = re.compile(
    r"(authorization|token|secret|api[_-]?key|apikey|password|signature|cookie)", re.IGNORECASE
)
# Query parameters also carry credentials under the short names URLs use (`key`, `sig`,
# `auth`, `pwd`...): a query is only a trace's URL, so redacting a harmless one costs little.
_SECRET_PARAMS = re.compile(
    _SECRET_KEYS.pattern[:-1] + r"|key|sig|auth|pass|pwd|credential|session|jwt)", re.IGNORECASE
)
# A `"key": value` pair in text that is not valid JSON (a truncated or malformed body); the
# value's closing quote is optional because truncation may have cut it.
_JSON_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:\s*)(?:"(?:[^"\\]|\\.)*"?|[^\s,}\]]+)')
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


def _may_name_secret(text: str) -> bool:
    """Whether a JSON text could have a key naming a secret: one spelled out, or one hidden
    behind a `\\u` escape (`"tok\\u0065n"` is `"token"` once decoded)."""
    return "\\u" in text or mentions_secret(text)


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


def check_fernet_key(key: str) -> None:
    """ValueError unless `key` is a Fernet key (32 bytes, url-safe base64), by the rule Fernet
    itself applies: a bad key stops the start without loading the cryptography package, which
    an idle server never needs (docs/decisions/0037)."""
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except (binascii.Error, ValueError) as exc:
        raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.") from exc
    if len(raw) != 32:
        raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.")


def new_fernet_key() -> str:
    """A fresh Fernet key: 32 random bytes, url-safe base64 (what `Fernet.generate_key` does)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


class SecretBox:
    """Encrypts outbound secrets (tokens we present, signing secrets) for storage.

    The key is checked here; the cipher is built on the first secret encrypted or decrypted,
    so a process that handles none (an idle server) never loads the cryptography package.
    """

    def __init__(self, key: str) -> None:
        check_fernet_key(key)
        self._key = key
        self._cipher: Fernet | None = None

    @property
    def _fernet(self) -> Fernet:
        """The cipher, built once (two threads building it at once build equal ones)."""
        if self._cipher is None:
            from cryptography.fernet import Fernet

            self._cipher = Fernet(self._key.encode())
        return self._cipher

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
                handle.write(new_fernet_key())
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
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:  # the key changed under the data
            raise RuntimeError("stored secret cannot be decrypted with this secret key") from exc


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"…[{len(text) - limit} more]"


def names_secret(name: str) -> bool:
    """Whether a header (or JSON key) of this name holds a credential, redacted in traces."""
    return _SECRET_KEYS.search(name) is not None


def redact_headers(headers: Mapping[str, str], limit: int = HEADERS_LIMIT) -> dict[str, str]:
    """Headers with credential values replaced, truncated like bodies: about `limit` characters
    of names and values in all, the rest counted."""
    kept: dict[str, str] = {}
    left = limit
    for name, value in headers.items():
        if left <= 0:
            break
        shown = _cut(name, left)
        value = REDACTED if _SECRET_KEYS.search(name) else value
        kept[shown] = _cut(value, max(0, left - len(name)))
        left -= len(name) + len(value)
    if len(kept) < len(headers):
        kept["[truncated]"] = f"{len(headers) - len(kept)} more headers"
    return kept


def redact_url(url: str) -> str:
    """`url` with the value of each query parameter whose name, percent-decoded, could hold a
    secret replaced (`?api_key=…`, `?tok%65n=…`)."""
    base, mark, rest = url.partition("?")
    if not mark:
        return url
    query, hash_, fragment = rest.partition("#")
    pairs = []
    for pair in query.split("&"):
        name, equals, _ = pair.partition("=")
        if equals and _SECRET_PARAMS.search(unquote_plus(name)):
            pair = f"{name}={REDACTED}"
        pairs.append(pair)
    return base + "?" + "&".join(pairs) + hash_ + fragment


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


def _redact_pair(match: re.Match[str]) -> str:
    key = match.group(1)
    try:
        decoded = json.loads(f'"{key}"')
    except ValueError:
        decoded = key
    if isinstance(decoded, str) and _SECRET_KEYS.search(decoded):
        return f'"{key}"{match.group(2)}"{REDACTED}"'
    return match.group(0)


def redact_body(body: bytes | str | None, limit: int) -> str | None:
    """A body fit for a trace: the value of every key naming a secret redacted (keys judged
    once decoded; by pattern when the body is not valid JSON), NUL bytes stripped, truncated."""
    if body is None:
        return None
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    # Parsing and re-encoding is only needed when a key could name a secret (~35 µs on a 0.5 kB
    # event, 4-7 % of an outbound delivery's CPU); the substring test is ~3 µs.
    if _may_name_secret(text):
        try:
            text = json.dumps(redact_value(json.loads(text)), separators=(",", ":"))
        except ValueError:
            text = _JSON_PAIR.sub(_redact_pair, text)
    text = text.replace("\x00", "")
    return _cut(text, limit)


def scrub(text: str, secrets_: list[str]) -> str:
    """Replace any known secret value found in free text."""
    for secret in secrets_:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    return text
