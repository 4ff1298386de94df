"""Pure rules for matching RMS tables to POS tables.

Names differ between systems for the same table: `001`, `1`, `T1`, `Table 1`, `table-1`,
`Mesa 1`. We reduce a name to a key (`num:1`, or the spaced-out lowercase text when it has no
number), score each RMS-POS pair, and call a match *unambiguous* only when the two keys are
equal and each side has exactly one table with that key (within the same area when both sides
name areas). Everything else is a suggestion for a person to confirm.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

# Words that only say "this is a table" in the languages our venues use.
_TABLE_WORDS = {"table", "tbl", "tab", "t", "mesa", "m", "tisch", "tavolo", "tafel", "taula"}
_WORD = re.compile(r"[a-z]+|\d+")

AUTO_THRESHOLD = 1.0
SUGGEST_THRESHOLD = 0.5


@dataclass(frozen=True)
class TableRef:
    """A table as one side lists it."""

    id: str
    name: str
    area: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A scored RMS→POS pairing."""

    rms_id: str
    pos_id: str
    confidence: float
    reason: str


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def name_key(name: str) -> str:
    """The comparable key of a table name: `num:<n>` when it carries one number, else words."""
    tokens = _WORD.findall(_fold(name))
    words = [t for t in tokens if not t.isdigit() and t not in _TABLE_WORDS]
    numbers = [str(int(t)) for t in tokens if t.isdigit()]
    if len(numbers) == 1:
        return " ".join([*words, f"num:{numbers[0]}"])
    return " ".join(words + numbers)


def area_key(area: str | None) -> str | None:
    """Areas compared case- and accent-insensitively; blank is no area."""
    if area is None or not area.strip():
        return None
    return " ".join(_WORD.findall(_fold(area))) or None


def score(rms: TableRef, pos: TableRef) -> tuple[float, str]:
    """How sure we are that two tables are the same, in [0, 1], with the reason."""
    rk, pk = name_key(rms.name), name_key(pos.name)
    if not rk or not pk:
        return 0.0, "no comparable name"
    if rk == pk:
        areas = area_key(rms.area), area_key(pos.area)
        if None not in areas and areas[0] != areas[1]:
            return 0.6, "same name, different area"
        return 1.0, "same name once normalised"
    if _number(rk) is not None and _number(pk) is not None and _number(rk) != _number(pk):
        # "Table 1" and "002" look alike as text, but a different number is a different table.
        return 0.0, "different table numbers"
    # SequenceMatcher is not symmetric; take the better direction so order never matters.
    similarity = max(SequenceMatcher(None, rk, pk).ratio(), SequenceMatcher(None, pk, rk).ratio())
    return round(similarity * 0.8, 3), "similar names"


def match(rms_tables: Sequence[TableRef], pos_tables: Sequence[TableRef]) -> list[Candidate]:
    """Every pairing worth showing: unambiguous matches at 1.0, then suggestions, best first.

    A pair scoring 1.0 is downgraded to a suggestion when either side has another table with the
    same key, so an automatic match never guesses between look-alikes.
    """
    rms_by_key = _group(rms_tables)
    pos_by_key = _group(pos_tables)
    found: list[Candidate] = []
    for rms in rms_tables:
        for pos in pos_tables:
            confidence, reason = score(rms, pos)
            if confidence < SUGGEST_THRESHOLD:
                continue
            key = name_key(rms.name)
            if confidence >= AUTO_THRESHOLD and (
                len(rms_by_key[key]) > 1 or len(pos_by_key[key]) > 1
            ):
                confidence, reason = 0.9, "same name, but not the only one on a side"
            found.append(Candidate(rms.id, pos.id, confidence, reason))
    found.sort(key=lambda c: (-c.confidence, c.rms_id, c.pos_id))
    return found


def unambiguous(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The candidates that may be applied without asking anyone."""
    return [c for c in candidates if c.confidence >= AUTO_THRESHOLD]


def _number(key: str) -> str | None:
    return next((part for part in key.split() if part.startswith("num:")), None)


def _group(tables: Sequence[TableRef]) -> dict[str, list[TableRef]]:
    groups: dict[str, list[TableRef]] = defaultdict(list)
    for table in tables:
        groups[name_key(table.name)].append(table)
    return groups
