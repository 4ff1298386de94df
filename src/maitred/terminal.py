"""What the CLI prints: partners' text as text, never as terminal markup or escape codes.

Anything a partner wrote (an order id, a table name, an error body) can reach an operator's
terminal. Rich would read `[/bold]` in it as markup (and fail on it), and an ESC byte would be
sent to the terminal as is (`ESC[2J` clears the screen). So every command prints through
`console()`, whose consoles take every string as plain text with its control characters made
visible; commands style their own words with `style=` or `Text`, never with markup in a string.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console, JustifyMethod, OverflowMethod
from rich.style import Style
from rich.table import Table
from rich.text import Text

# The characters a terminal does not show as themselves: C0 and C1 controls (ESC, BEL, CR…),
# format characters (bidirectional overrides, zero-width joiners), line and paragraph
# separators, surrogates, private-use and unassigned code points.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def visible(value: object) -> str:
    """`value` as text with every character a terminal would not show made visible (`\\x1b`,
    `\\n`, `\\u202e`), so what is printed is what is stored."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case, one C-level pass
        return text
    return "".join(_shown(ch) for ch in text)


def _shown(ch: str) -> str:
    if ch == " " or unicodedata.category(ch) not in _HIDDEN_CATEGORIES:
        return ch
    return ch.encode("unicode_escape").decode("ascii")


class PlainConsole(Console):
    """A console for which every string is plain text: no markup, emoji codes or highlighting,
    and control characters made visible. Tables, titles and `print` all go through here."""

    def render_str(
        self,
        text: str,
        *,
        style: str | Style = "",
        justify: JustifyMethod | None = None,
        overflow: OverflowMethod | None = None,
        emoji: bool | None = None,
        markup: bool | None = None,
        highlight: bool | None = None,
        highlighter: Any = None,
    ) -> Text:
        """`text` as a `Text` of itself (the arguments that would interpret it are ignored)."""
        del emoji, markup, highlight, highlighter
        return Text(visible(text), style=style, justify=justify, overflow=overflow)


def console(*, err: bool = False) -> Console:
    """A console on stdout (or stderr) sized for the current terminal."""
    return PlainConsole(file=sys.stderr if err else sys.stdout, highlight=False)


def error(*lines: object) -> None:
    """Print lines to stderr in red (each line's text as text)."""
    out = console(err=True)
    for line in lines:
        out.print(visible(line), style="red", soft_wrap=True)


def line(*parts: object, style: str = "") -> None:
    """Print one line to stdout from parts joined by spaces."""
    console().print(" ".join(visible(part) for part in parts), style=style, soft_wrap=True)


def table(*columns: str, title: str | None = None) -> Table:
    """A table with these column headers (cells are added as plain strings)."""
    result = Table(title=title)
    for column in columns:
        result.add_column(column)
    return result


def show(value: object) -> str:
    """A value as an operator reads it: `-` for none, lists joined, numbers and dates as text."""
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(show(item) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {show(item)}" for key, item in value.items())
    return str(value)


def print_fields(fields: Mapping[str, object], *, indent: str = "") -> None:
    """One `field: value` line per field (names in bold)."""
    out = console()
    for name, value in fields.items():
        text = Text(indent)
        text.append(visible(name), style="bold")
        text.append(": " + visible(show(value)))
        out.print(text, soft_wrap=True)


def print_table(
    columns: Iterable[str], rows: Iterable[Iterable[object]], *, title: str | None = None
) -> None:
    """A table of rows, each value shown as `show` does."""
    result = table(*columns, title=title)
    for row in rows:
        result.add_row(*(show(value) for value in row))
    console().print(result)


def styled(value: object, style: str) -> Text:
    """A value as styled plain text (for a table cell)."""
    return Text(visible(value), style=style)
