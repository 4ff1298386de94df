"""A file that cannot be applied is refused with its line and field, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from maitred.apply.service import ApplyFileError
from maitred.config import Settings
from tests.apply.documents import DOCUMENT, applied, raw_rows, write

# (what is wrong, replace this, with this, expected "line: field: message" start)
BAD_FILES = [
    ("syntax", 'kind = "pos"', 'kind = "pos', "13: TOML syntax error"),
    ("unknown_key", 'token = "${ACME_POS', 'tokn = "${ACME_POS', "16: partners[1].tokn: unknown"),
    ("wrong_type", '"http://127.0.0.1:9201"', "9201", "15: partners[1].base_url: Input should"),
    ("bad_kind", 'kind = "pos"', 'kind = "till"', "13: partners[1].kind: Input should be 'rms'"),
    ("bad_timezone", "Europe/Madrid", "Europe/Atlantis", "20: venues[0].timezone: unknown"),
    (
        "unknown_partner",
        'partner = "acme-pos"',
        'partner = "acme-till"',
        "22: venues[0].pos.partner: unknown partner 'acme-till'",
    ),
    (
        "wrong_role",
        '{ partner = "acme-rms", venue_id = "your-venue-id" }',
        '{ partner = "acme-pos", venue_id = "your-venue-id" }',
        "21: venues[0].rms.partner: partner 'acme-pos' is a pos partner, not rms",
    ),
    ("duplicate_id", 'id = "acme-pos"', 'id = "acme-rms"', "12: partners[1].id: duplicate id"),
    ("missing_key", 'kind = "rms"\n', "", "2: partners[0].kind: required key is missing"),
]


@pytest.mark.usefixtures("apply_env")
@pytest.mark.parametrize(
    ("old", "new", "expected"), [case[1:] for case in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_file_is_refused_naming_line_and_field(
    settings: Settings, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in DOCUMENT
    path = write(tmp_path, DOCUMENT.replace(old, new, 1))
    with pytest.raises(ApplyFileError) as refused:
        applied(settings, path)
    assert refused.value.message.startswith(f"{path}:{expected}")
    assert raw_rows(settings.database_url) == {"partners": [], "venues": [], "venue_links": []}


@pytest.mark.usefixtures("apply_env")
def test_a_refused_file_leaves_earlier_records_untouched(
    settings: Settings, tmp_path: Path
) -> None:
    applied(settings, write(tmp_path))
    before = raw_rows(settings.database_url)
    # The partner edits come first in the file and would succeed on their own.
    bad = DOCUMENT.replace("Acme reservations", "Renamed").replace(
        'partner = "acme-pos"', 'partner = "nobody"'
    )
    with pytest.raises(ApplyFileError, match=r"venues\[0\]\.pos\.partner"):
        applied(settings, write(tmp_path, bad))
    assert raw_rows(settings.database_url) == before
