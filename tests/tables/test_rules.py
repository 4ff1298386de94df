"""Table-name matching rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maitred.tables.rules import TableRef, match, name_key, score, unambiguous


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("001", "1"),
        ("T1", "Table 1"),
        ("table-1", "TABLE 1"),
        ("Mesa 01", "t1"),
        ("  Table   12 ", "T12"),
        ("Bar", "bar"),
        ("Terrace 3", "terrace-03"),
    ],
)
def test_names_that_mean_the_same_table_share_a_key(left: str, right: str) -> None:
    assert name_key(left) == name_key(right)


@pytest.mark.parametrize(("left", "right"), [("1", "11"), ("T1", "T10"), ("Bar 1", "Terrace 1")])
def test_different_tables_have_different_keys(left: str, right: str) -> None:
    assert name_key(left) != name_key(right)


def test_the_seed_tables_match_unambiguously() -> None:
    rms = [TableRef("28c3", "001"), TableRef("00f8", "002")]
    pos = [TableRef("T1", "Table 1"), TableRef("T2", "Table 2"), TableRef("T3", "Table 3")]
    auto = unambiguous(match(rms, pos))
    assert {(c.rms_id, c.pos_id) for c in auto} == {("28c3", "T1"), ("00f8", "T2")}


def test_look_alikes_on_one_side_are_only_suggested() -> None:
    rms = [TableRef("r1", "1")]
    pos = [TableRef("a", "Table 1", "Terrace"), TableRef("b", "T1", "Terrace")]
    candidates = match(rms, pos)
    assert unambiguous(candidates) == []
    assert {c.pos_id for c in candidates} == {"a", "b"}


def test_same_name_in_different_areas_is_only_suggested() -> None:
    confidence, reason = score(TableRef("r", "5", "Terrace"), TableRef("p", "T5", "Inside"))
    assert confidence < 1.0
    assert "area" in reason


def test_different_table_numbers_are_not_suggested() -> None:
    assert match([TableRef("r", "002")], [TableRef("p", "Table 1")]) == []


def test_unrelated_names_are_not_suggested() -> None:
    assert match([TableRef("r", "Window")], [TableRef("p", "Kitchen counter")]) == []


@given(st.text(max_size=20), st.text(max_size=20))
def test_score_is_symmetric_and_bounded(a: str, b: str) -> None:
    forward, _ = score(TableRef("x", a), TableRef("y", b))
    backward, _ = score(TableRef("y", b), TableRef("x", a))
    assert 0.0 <= forward <= 1.0
    assert forward == backward
