"""Finds the line of a TOML file that a field path such as `venues[1].rms.partner` came from,
so a refused file can be reported as `file:line: field: message`."""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")


def _block_range(lines: list[str], table: str, index: int | None) -> tuple[int, int] | None:
    """Line span (0-based, end exclusive) of `[[table]]` number `index` (or `[table]`)."""
    start = None
    seen = -1
    for number, line in enumerate(lines):
        header = _HEADER.match(line)
        if header is None:
            continue
        if start is not None:
            return start, number
        if header.group(2).strip("\"'") == table:
            seen += 1
            if index is None or seen == index:
                start = number
    return (start, len(lines)) if start is not None else None


def _key_line(lines: list[str], span: tuple[int, int], key: str) -> int | None:
    for number in range(*span):
        match = _KEY.match(lines[number])
        if match and key in match.groups():
            return number
    return None


def _top_level_span(lines: list[str]) -> tuple[int, int]:
    """Lines before the first table header (where top-level keys live)."""
    for number, line in enumerate(lines):
        if _HEADER.match(line):
            return 0, number
    return 0, len(lines)


def locate(text: str, path: Sequence[str | int]) -> int | None:
    """1-based line of `path` in `text`: the key's line inside its table, else the table's
    header line, else None. Paths look like `("partners", 1, "kind")`."""
    lines = text.splitlines()
    if not path:
        return None
    table = str(path[0])
    index = path[1] if len(path) > 1 and isinstance(path[1], int) else None
    span = _block_range(lines, table, index)
    if span is None:
        # Not a table header: perhaps a top-level key (an unknown one, or `partners = [...]`).
        found = _key_line(lines, _top_level_span(lines), table)
        return found + 1 if found is not None else None
    rest = [part for part in path[2 if index is not None else 1 :] if isinstance(part, str)]
    # Nested inline tables (`rms = { partner = ... }`) sit on their key's line.
    if rest:
        found = _key_line(lines, (span[0] + 1, span[1]), rest[0])
        if found is not None:
            return found + 1
    return span[0] + 1


def dotted(path: Sequence[str | int]) -> str:
    """`("venues", 1, "rms", "partner")` → `venues[1].rms.partner`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def parse_dotted(text: str) -> list[str | int]:
    """The inverse of `dotted`."""
    parts: list[str | int] = []
    for name, number in re.findall(r"([^.\[\]]+)|\[(\d+)\]", text):
        parts.append(int(number) if number else name)
    return parts
