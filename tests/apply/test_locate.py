"""The locator that maps a field path back to its line in a TOML file."""

from __future__ import annotations

from maitred.apply.locate import dotted, locate, parse_dotted

TEXT = """\
# partners first
[[partners]]
id = "a"
kind = "rms"

[[partners]]
id = "b"
"kind" = 3   # quoted key

[[venues]]
id = "v"
rms = { partner = "x", venue_id = "y" }
"""


def test_a_key_is_found_inside_the_right_table_of_an_array() -> None:
    assert locate(TEXT, ["partners", 0, "kind"]) == 4
    assert locate(TEXT, ["partners", 1, "kind"]) == 8


def test_a_field_of_an_inline_table_is_on_its_key_line() -> None:
    assert locate(TEXT, ["venues", 0, "rms", "partner"]) == 12


def test_a_missing_key_points_at_its_table_header() -> None:
    assert locate(TEXT, ["venues", 0, "timezone"]) == 10
    assert locate(TEXT, ["partners", 1]) == 6


def test_an_unknown_top_level_key_is_found_before_the_first_table() -> None:
    assert locate('partner = "x"\n[[partners]]\nid = "a"\n', ["partner"]) == 1


def test_a_path_that_is_nowhere_has_no_line() -> None:
    assert locate(TEXT, ["channels", 0, "id"]) is None
    assert locate(TEXT, ["partners", 5, "id"]) is None


def test_dotted_paths_round_trip() -> None:
    path: list[str | int] = ["venues", 1, "rms", "partner"]
    assert dotted(path) == "venues[1].rms.partner"
    assert parse_dotted(dotted(path)) == path
