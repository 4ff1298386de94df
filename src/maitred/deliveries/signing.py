"""Headers a contract adds to the signed requests of its kinds of delivery (e.g. the RBI
contract's `x-signature`, decision 19), computed at each attempt from the exact body and the
partner's signing secret. Registered at start-up (`maitred.boot`), so the engine imports no
contract."""

from __future__ import annotations

from collections.abc import Callable

Signer = Callable[[bytes, str], dict[str, str]]
_signers: dict[str, Signer] = {}


def register(kind_prefix: str, signer: Signer) -> None:
    """Add `signer`'s headers to every delivery whose kind starts with `kind_prefix`."""
    _signers[kind_prefix] = signer


def extra_headers(kind: str, body: bytes, secret: str) -> dict[str, str]:
    """The headers the registered signers add for a delivery of `kind`."""
    headers: dict[str, str] = {}
    for prefix, signer in _signers.items():
        if kind.startswith(prefix):
            headers.update(signer(body, secret))
    return headers
