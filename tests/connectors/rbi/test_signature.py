"""`x-signature`: hex HMAC-SHA256 of the raw body (decision 19)."""

from __future__ import annotations

import hashlib
import hmac

from maitred.connectors.rbi import signature

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"eventType":"ORDER_UPDATED","id":"6f1c2a9e"}'


def test_the_signature_is_the_published_hmac_sha256_vector() -> None:
    # The well-known HMAC-SHA256 example (key "key"), computed by no code of ours.
    body = b"The quick brown fox jumps over the lazy dog"
    assert signature.sign(body, "key") == (
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_a_plain_hmac_check_accepts_it() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert signature.sign(BODY, SECRET) == expected


def test_verify_accepts_the_signature_in_either_case() -> None:
    value = signature.sign(BODY, SECRET)
    assert signature.verify(BODY, SECRET, value)
    assert signature.verify(BODY, SECRET, value.upper())


def test_verify_refuses_another_body_secret_or_garbage() -> None:
    value = signature.sign(BODY, SECRET)
    assert not signature.verify(BODY + b" ", SECRET, value)
    assert not signature.verify(BODY, SECRET + "x", value)
    assert not signature.verify(BODY, SECRET, None)
    assert not signature.verify(BODY, SECRET, "")
    assert not signature.verify(BODY, SECRET, "zz")
