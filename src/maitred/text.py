"""Text every store can hold: PostgreSQL refuses NUL in text and JSON, and a lone surrogate
(which `json.loads` lets through from a `\\ud800` escape) cannot be encoded as UTF-8. Inbound
models refuse both with a 400 naming the field, instead of failing at the database."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, field_validator

UNSTORABLE = "Text must not contain NUL characters or unpaired surrogates."


def storable(value: Any) -> Any:
    """`value` unchanged; ValueError when it is (or a list or dict in it holds) unstorable text."""
    if isinstance(value, str):
        if "\x00" in value or (not value.isascii() and not _encodes(value)):
            raise ValueError(UNSTORABLE)
    elif isinstance(value, list | tuple):
        for item in value:
            storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key)
            storable(item)
    return value


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class StorableModel(BaseModel):
    """A model of inbound input whose every field must be storable text (see `storable`)."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable(value)
