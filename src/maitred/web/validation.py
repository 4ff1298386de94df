"""Pydantic validation errors in the contract's error shape: `{path: [{field: [messages]}]}`,
the failing field named, in the contract's words where it has them (decision 2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from maitred.errors import Details
from maitred.partners.schemas import SLUG_PATTERN, SLUG_RULE


def field_path(loc: Sequence[int | str]) -> str:
    """`("body", "items", 0, "quantity")` → `items[0].quantity`."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


# spec (error_body fixture): a blank required string reads "This value should not be blank."
BLANK = "This value should not be blank."
# What a pattern mismatch means, by pattern: only the non-blank pattern (`\S`) means blank.
_PATTERNS = {r"\S": BLANK, SLUG_PATTERN: SLUG_RULE}


def _message(error: Any) -> str:
    """The message for one pydantic error, in the contract's words where it has them."""
    kind = error.get("type")
    msg = str(error.get("msg", "invalid"))
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        return "Invalid JSON: " + msg.removeprefix("Invalid JSON: ")
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return BLANK
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(str(ctx.get("pattern")), msg)
    if kind == "missing":
        return "This field is missing."
    return msg


def validation_details(errors: Sequence[Any]) -> Details:
    """Pydantic errors → `{path: [{field: [messages]}]}`, one entry per failing field.

    `path` is the full location (`items[0].quantity`), `field` its last named segment
    (`quantity`); a body that is not JSON, or not an object, is reported under `body`.
    """
    details: Details = {}
    for error in errors:
        loc = tuple(error.get("loc", ()))
        path = "body" if error.get("type") == "json_invalid" else field_path(loc)
        leaf = next((str(p) for p in reversed(loc) if isinstance(p, str)), path)
        if leaf == "body":
            leaf = path
        entry = details.setdefault(path, [{leaf: []}])
        entry[0].setdefault(leaf, []).append(_message(error))
    return details
