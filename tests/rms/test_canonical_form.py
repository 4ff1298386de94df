"""The canonical text a booking's content hash is taken over must not change between releases:
a stored hash that no longer matches would make every resend look like a change."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maitred.reservations import rules

DOCUMENTS: list[Any] = [
    {"bookingId": "b-1", "partySize": 4, "tables": ["t2", "t1"], "date": 1639578600},
    {"z": {"b": [1, 2.5, None, True], "a": "ñandú ✓ \u2028"}, "a": -0.0, "m": 1e21},
    {"notes": 'quote " backslash \\ tab \t', "contact": {"email": "x@y.z", "firstname": "Zoë"}},
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_canonical_text_is_sorted_compact_and_unescaped_as_before(document: Any) -> None:
    text, digest = rules.canonical(document)
    assert text == json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest == rules.digest(json.loads(text))


@pytest.mark.parametrize("document", DOCUMENTS)
def test_compact_json_is_json_dumps_without_spaces(document: Any) -> None:
    assert rules.compact_json(document) == json.dumps(document, separators=(",", ":"))
    assert rules.compact_json(["t1"]) == '["t1"]'
