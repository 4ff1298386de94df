"""Fault switches a test or the demo flips on a simulator through `POST /_sim/faults`.

Inbound faults shape the answers to maitred's calls (`latency_ms`, `fail_status` +
`fail_count`, `timeout_count`, and on the POS `unknown_skus`, `update_unsupported`). Outbound
faults shape the simulator's own notifications to maitred (`duplicate_sends`, `reorder_sends`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

POS_FAULTS = frozenset(
    {
        "latency_ms",
        "fail_status",
        "fail_count",
        "timeout_count",
        "hang_seconds",
        "unknown_skus",
        "update_unsupported",
        "duplicate_sends",
        "reorder_sends",
    }
)
RMS_FAULTS = frozenset(
    {
        "latency_ms",
        "fail_status",
        "fail_count",
        "timeout_count",
        "hang_seconds",
        "duplicate_sends",
        "reorder_sends",
    }
)


class FaultError(ValueError):
    """A fault request that names an unknown switch or gives it the wrong type."""


@dataclass
class Faults:
    """The current fault switches of one simulator."""

    latency_ms: int = 0
    fail_status: int = 503
    fail_count: int = 0
    timeout_count: int = 0
    hang_seconds: float = 30.0
    unknown_skus: list[str] = field(default_factory=list)
    update_unsupported: bool = False
    duplicate_sends: bool = False
    reorder_sends: int = 0

    def apply(self, changes: dict[str, Any], allowed: frozenset[str]) -> None:
        """Set the switches named in `changes` (validated first, so all-or-nothing)."""
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise FaultError(f"Unknown fault(s): {', '.join(unknown)}")
        staged = {name: _coerce(name, value) for name, value in changes.items()}
        for name, value in staged.items():
            setattr(self, name, value)

    def reset(self) -> None:
        """Back to no faults at all."""
        for f in fields(self):
            setattr(self, f.name, getattr(Faults(), f.name))

    def as_dict(self) -> dict[str, Any]:
        """The switches as JSON."""
        return asdict(self)


def _coerce(name: str, value: Any) -> Any:
    """Check one switch's type; `reorder_sends: true` means one swap."""
    if name == "unknown_skus":
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise FaultError("unknown_skus must be a list of strings")
        return list(value)
    if name in {"update_unsupported", "duplicate_sends"}:
        if not isinstance(value, bool):
            raise FaultError(f"{name} must be a boolean")
        return value
    if name == "reorder_sends" and isinstance(value, bool):
        return 1 if value else 0
    if name == "hang_seconds":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise FaultError("hang_seconds must be a non-negative number")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultError(f"{name} must be a non-negative integer")
    if name == "fail_status" and not 400 <= value <= 599:
        raise FaultError("fail_status must be an HTTP error status (400-599)")
    return value
