"""The RBI contract's example payloads (shared/spec/fixtures/rbi_*.json), read verbatim."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.factories import FIXTURES


def raw(name: str) -> bytes:
    """A fixture's exact bytes."""
    return (FIXTURES / name).read_bytes()


def fixture(name: str) -> Any:
    """A fixture as JSON."""
    return json.loads(raw(name))


def rbi_fixtures() -> list[str]:
    """Every RBI fixture file name."""
    return sorted(path.name for path in Path(FIXTURES).glob("rbi_*.json"))
