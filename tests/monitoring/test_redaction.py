"""The fast secret-word check agrees with the pattern the redaction of keys and headers uses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from maitred.security import _SECRET_KEYS, mentions_secret, redact_body

# Letters of the secret words in both cases, separators and a few others, so that generated
# text often spells (or almost spells) one of them.
_ALPHABET = "aAbBcCeEhHiIkKnNoOpPrRsStTuUwWyYzZdDgG_- :\"{}'"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_mentions_secret_agrees_with_the_pattern(text: str) -> None:
    assert mentions_secret(text) == bool(_SECRET_KEYS.search(text))


def test_a_body_naming_a_secret_is_redacted_and_one_that_does_not_is_kept() -> None:
    assert "s3cr3t" not in str(redact_body(b'{"booking": 1, "API-Key": "s3cr3t"}', 4096))
    assert redact_body(b'{"booking": 1, "note": "window seat"}', 4096) == (
        '{"booking": 1, "note": "window seat"}'
    )


def test_the_edge_keeps_redacted_headers_per_set_without_a_secret_value() -> None:
    from maitred.monitoring.middleware import EdgeMiddleware

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("not called")

    edge = EdgeMiddleware(app, max_body=1000, trace_limit=4096)
    first = {"authorization": "Bearer first-key-123456", "x-api-key": "k-1", "accept": "*/*"}
    second = first | {"authorization": "Bearer second-key-654321", "x-api-key": "k-2"}
    kept, encoded = edge._redacted_headers(first)
    assert kept == {"authorization": "[redacted]", "x-api-key": "[redacted]", "accept": "*/*"}
    assert edge._redacted_headers(second) == (kept, encoded)  # the same set, secrets aside
    memo = repr(edge._redacted)
    for secret in ("first-key", "second-key", "k-1", "k-2"):
        assert secret not in memo
    other = edge._redacted_headers(first | {"accept": "application/json"})
    assert other[0]["accept"] == "application/json"
