"""The admin API's one spelling of JSON: camelCase, as the partner contracts spell theirs.

Input is also accepted under the Python names (`venue_id`), which is how an apply file spells
its keys, so one document shape serves the file and `POST /admin/apply`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel, to_snake


class CamelModel(BaseModel):
    """A model read and written as camelCase JSON (its Python names accepted on input)."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )


def python_name(part: str) -> str:
    """A camelCase field name back in the Python (and apply file) spelling."""
    return to_snake(part) if part[:1].islower() else part
