"""Applying a declarative document of partners and venues: all of it in one transaction, or
none of it. Applying the same document twice changes nothing (not even `updated_at`).

Partners and venues absent from the document are left alone: apply never deletes. Delete with
`maitred partners delete` / `maitred venues delete` or the admin API.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from maitred.apply.locate import dotted, locate, parse_dotted
from maitred.apply.schemas import ApplyDocument
from maitred.camel import python_name
from maitred.errors import BadRequest, Details, MaitredError, field_details
from maitred.netguard import NetPolicy
from maitred.partners import service as partners_service
from maitred.partners.schemas import Change
from maitred.runtime import Runtime
from maitred.security import SecretBox
from maitred.venues import service as venues_service

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


class ApplyFileError(BadRequest):
    """A file that cannot be applied; `message` names the file, line and field."""


def apply_document(
    session: Session, doc: ApplyDocument, box: SecretBox, policy: NetPolicy | None = None
) -> list[Change]:
    """Upsert every partner, then every venue (flushes, never commits); BadRequest naming the
    field (`venues[0].rms.partner`) on the first record that cannot be applied, including a
    partner URL on an address `policy` refuses."""
    _refuse_duplicates(doc)
    changes = []
    for index, partner in enumerate(doc.partners):
        with _prefixed(f"partners[{index}]"):
            if policy is not None:
                partners_service.check_urls(partner, policy)
            changes.append(partners_service.upsert_partner(session, partner, box))
    for index, venue in enumerate(doc.venues):
        with _prefixed(f"venues[{index}]"):
            changes.append(venues_service.upsert_venue(session, venue))
    return changes


def parse_document(data: dict[str, Any]) -> ApplyDocument:
    """Validate a document; BadRequest naming every failing field."""
    try:
        return ApplyDocument.model_validate(data)
    except ValidationError as exc:
        details: Details = {}
        for error in exc.errors():
            parts = [python_name(p) if isinstance(p, str) else p for p in error["loc"]]
            path = dotted([p for p in parts if isinstance(p, str | int)]) or "document"
            ((leaf, messages),) = field_details(path, _message(error))[path][0].items()
            details.setdefault(path, [{leaf: []}])[0][leaf].extend(messages)
        raise BadRequest(details=details) from exc


def load_file(path: Path, environ: Mapping[str, str] | None = None) -> ApplyDocument:
    """Read, expand `${VAR}` and validate a TOML file; ApplyFileError naming line and field."""
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        position = _TOML_POSITION.search(str(exc))
        line = position.group(1) if position else "?"
        reason = _TOML_POSITION.sub("", str(exc)).strip()
        raise ApplyFileError(f"{path}:{line}: TOML syntax error: {reason}") from exc
    try:
        return parse_document(expand_env(data, os.environ if environ is None else environ))
    except BadRequest as exc:
        raise _located(exc, path, text) from exc


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ApplyFileError(f"{path}: cannot read the file: {exc}") from exc


def apply_file(
    runtime: Runtime, path: Path, doc: ApplyDocument | None = None, *, dry_run: bool = False
) -> list[Change]:
    """Make partners and venues match `path` in one transaction and return what changed, field
    by field; with `dry_run`, what would change, and nothing is written."""
    text = _read(path)
    doc = doc if doc is not None else load_file(path)
    policy = NetPolicy.from_settings(runtime.settings)
    try:
        if dry_run:
            return _preview(runtime, doc, policy)
        return runtime.writer.run_sync(lambda s: apply_document(s, doc, runtime.secrets, policy))
    except MaitredError as exc:
        if not exc.details:
            raise
        raise _located(exc, path, text) from exc


def _preview(runtime: Runtime, doc: ApplyDocument, policy: NetPolicy) -> list[Change]:
    """Apply in a transaction that is rolled back, whatever happens."""
    with runtime.db.write_sessions() as session:
        try:
            return apply_document(session, doc, runtime.secrets, policy)
        finally:
            session.rollback()


def summarize(path: Path, changes: list[Change], *, dry_run: bool = False) -> str:
    """`applied FILE: 1 created, 2 unchanged` (actions in a fixed order)."""
    counts = Counter(change.action for change in changes)
    parts = [f"{counts[a]} {a}" for a in ("created", "updated", "unchanged") if counts[a]]
    verb = "would apply" if dry_run else "applied"
    tail = " (dry run: nothing written)" if dry_run else ""
    return f"{verb} {path}: " + (", ".join(parts) or "nothing to apply") + tail


def expand_env(value: Any, environ: Mapping[str, str], at: str = "") -> Any:
    """`value` with every `${VAR}` in its strings replaced; BadRequest naming the field and the
    variable when one is unset."""
    if isinstance(value, dict):
        return {k: expand_env(v, environ, f"{at}.{k}" if at else k) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, environ, f"{at}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            message = f"environment variable {name} is not set"
            raise BadRequest(message, details=field_details(at, message))
        return environ[name]

    return _ENV.sub(replace, value)


def _refuse_duplicates(doc: ApplyDocument) -> None:
    tables = {
        "partners": [p.id for p in doc.partners],
        "venues": [v.id for v in doc.venues],
    }
    for table, ids in tables.items():
        for index, record_id in enumerate(ids):
            first = ids.index(record_id)
            if first != index:
                path = f"{table}[{index}].id"
                message = f"duplicate id {record_id!r} (first at {table}[{first}])"
                raise BadRequest(message, details=field_details(path, message))


@contextmanager
def _prefixed(prefix: str) -> Iterator[None]:
    """Re-raise a record's error with its fields under the record's path (`venues[0].…`)."""
    try:
        yield
    except MaitredError as exc:
        exc.details = {f"{prefix}.{k}": v for k, v in exc.details.items()}
        raise


def _located(exc: MaitredError, path: Path, text: str) -> ApplyFileError:
    """One `file:line: field: message` line per failing field."""
    lines = []
    for field, entries in exc.details.items():
        line = locate(text, parse_dotted(field))
        for messages in entries:
            for message in (m for ms in messages.values() for m in ms):
                lines.append(f"{path}:{line or '?'}: {field}: {message}")
    return ApplyFileError("\n".join(lines) or f"{path}: {exc.message}", details=exc.details)


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return str(error["msg"]).removeprefix("Value error, ")
