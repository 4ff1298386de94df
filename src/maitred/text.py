"""Text every store can hold: PostgreSQL refuses NUL in text and JSON, and a lone surrogate
(which `json.loads` lets through from a `\\ud800` escape) cannot be encoded as UTF-8. Inbound
models refuse both with a 400 naming the field, instead of failing at the database."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, GetJsonSchemaHandler, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

UNSTORABLE = "Text must not contain NUL characters or unpaired surrogates."
# `storable` in JSON Schema's words, for the published documents. Only NUL needs saying: an
# unpaired surrogate is no Unicode character, so a body of JSON text (UTF-8) can only carry one
# as a `\ud800` escape that JSON Schema's string model has no place for.
STORABLE_PATTERN = r"^[^\x00]*$"
# ... and with the "not blank" rule (`\S`) of the bounded text types.
NON_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
_SPELLED = {None: STORABLE_PATTERN, r"\S": NON_BLANK_PATTERN}


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

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The model's JSON schema, its free-text fields saying what `storable` refuses."""
        schema = handler(core_schema)
        for field in handler.resolve_ref_schema(schema).get("properties", {}).values():
            _spell_storable(field)
        return schema


def _spell_storable(node: Any) -> None:
    """Give every free-text string in `node` (optional, or a list's items) the storable pattern;
    enums and formats say more already, and other models spell their own fields."""
    if not isinstance(node, dict):
        return
    free = not {"enum", "const", "format"} & node.keys()
    if node.get("type") == "string" and free and node.get("pattern") in _SPELLED:
        node["pattern"] = _SPELLED[node.get("pattern")]
    for branch in node.get("anyOf", []):
        _spell_storable(branch)
    _spell_storable(node.get("items"))
