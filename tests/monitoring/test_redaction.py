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
