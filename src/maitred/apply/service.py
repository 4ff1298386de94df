"""Applying a configuration file (to be written)."""

from __future__ import annotations

from pathlib import Path

from maitred.config import Settings


def apply_file(settings: Settings, path: Path) -> str:
    """Make partners and venues match `path`; return a one-line summary."""
    raise NotImplementedError
