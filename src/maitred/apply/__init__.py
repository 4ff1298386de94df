"""Declarative configuration: `maitred apply FILE` makes the database match a TOML file."""

from maitred.apply.service import apply_file

__all__ = ["apply_file"]
