"""`maitred apply [--dry-run] FILE`, and what `maitred serve --config FILE` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maitred import commands, terminal
from maitred.apply.schemas import ApplyDocument
from maitred.apply.service import ApplyFileError, apply_file, load_file, summarize
from maitred.config import Settings
from maitred.errors import SetupError
from maitred.partners.schemas import Change, FieldChange
from maitred.runtime import Runtime


def apply(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
) -> None:
    """Make partners and venues match a TOML file (idempotent; ${ENV_VAR} values allowed).

    The file wins: each partner and venue it names is made exactly as the file describes it,
    so a field the file leaves out is cleared (a role left out is unlinked), except secrets,
    which are kept. Partners and venues the file does not name are left alone. Every change
    is printed field by field. A refused file changes nothing and exits with status 2,
    naming the line and field.
    """
    document = load_config(path)
    changes = commands.with_runtime(lambda rt: _apply(rt, path, document, dry_run=dry_run))
    print_changes(changes)
    terminal.line(summarize(path, changes, dry_run=dry_run))


def load_config(path: Path) -> ApplyDocument:
    """The validated document of `path`; SetupError naming line and field when refused."""
    try:
        return load_file(path)
    except ApplyFileError as exc:
        raise SetupError(exc.message) from exc


def _apply(runtime: Runtime, path: Path, document: ApplyDocument, *, dry_run: bool) -> list[Change]:
    try:
        return apply_file(runtime, path, document, dry_run=dry_run)
    except ApplyFileError as exc:
        raise SetupError(exc.message) from exc


def apply_and_report(settings: Settings, path: Path, document: ApplyDocument) -> None:
    """Apply a start-up configuration file (the database is already prepared) and print what
    changed; SetupError naming the line and field when it is refused."""
    runtime = Runtime.build(settings)
    try:
        changes = _apply(runtime, path, document, dry_run=False)
    finally:
        runtime.writer.stop()
        runtime.db.dispose()
    print_changes(changes)
    terminal.line(summarize(path, changes))


def print_changes(changes: list[Change]) -> None:
    """Each created or updated record, then one indented line per field it changed."""
    for change in changes:
        if change.action != "unchanged":
            print_change(change)


def print_change(change: Change) -> None:
    """`venue trattoria updated`, then one indented line per field it changed."""
    terminal.line(change.kind, change.id, change.action)
    for field in change.fields:
        terminal.line("  " + describe(field))


def describe(field: FieldChange) -> str:
    """`name: 'Acme' → none`, or for a secret `token: replaced` (never its value)."""
    if field.secret:
        verb = {(False, True): "set", (True, False): "cleared"}.get(
            (field.before is not None, field.after is not None), "replaced"
        )
        return f"{field.field}: {verb}"
    return f"{field.field}: {_value(field.before)} → {_value(field.after)}"


def _value(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return str(value)
