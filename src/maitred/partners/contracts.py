"""The partner contracts maitred speaks, by name: what each serves and the adapters it has.

A contract is a package under `maitred.connectors` that exposes one `Contract`; the start-up
installs every contract listed in `maitred.connectors` (`maitred.boot`). Everything else asks
here, never a contract by name: a use case looks up the partner's contract, then its adapter
for the partner's kind, then whether that adapter has the feature it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from maitred.channel_orders.ports import OrderNotices, PosOrdering
from maitred.channel_orders.store_ports import StorePresence
from maitred.errors import BadRequest, field_details
from maitred.orders.ports import PosAdapter, RmsAdapter


def _no_routes() -> Sequence[object]:
    return ()


@dataclass(frozen=True)
class Contract:
    """A partner API maitred speaks: the kinds of partner it serves and its adapters."""

    name: str
    kinds: frozenset[str]
    pos: PosAdapter | None = None  # what maitred asks of a POS of this contract
    rms: RmsAdapter | None = None  # what maitred tells and asks an RMS of this contract
    # The partner-facing routes (routers or plain routes) the app mounts, in this order.
    routes: Callable[[], Sequence[object]] = _no_routes
    # The body of a signed test event to a partner's webhook: (partner id, ISO time) → JSON.
    ping: Callable[[str, str], str] | None = None
    # Channel orders (docs/decisions/0016): what a POS of this contract is asked to price,
    # commit and fire, and the order notices its partners (channel and POS) get.
    ordering: PosOrdering | None = None
    notices: OrderNotices | None = None
    # Store status (docs/decisions/0032): the POS's heartbeat and the channels' store notices.
    stores: StorePresence | None = None

    def adapter(self, kind: str) -> PosAdapter | RmsAdapter | None:
        """The adapter for a partner of `kind`, if the contract has one."""
        return {"pos": self.pos, "rms": self.rms}.get(kind)

    def features(self, kind: str) -> Mapping[str, str]:
        """The features the contract has for a partner of `kind`, each with its call."""
        adapter = self.adapter(kind)
        return adapter.features if adapter is not None else {}


_installed: dict[str, Contract] = {}


def install(contract: Contract) -> None:
    """Make `contract` known (at start-up; installing it again replaces it)."""
    _installed[contract.name] = contract


def uninstall(name: str) -> None:
    """Forget a contract (tests that install one of their own)."""
    _installed.pop(name, None)


def names() -> list[str]:
    """The known contracts' names, sorted."""
    return sorted(_installed)


def installed() -> list[Contract]:
    """The known contracts, in the order they were installed."""
    return list(_installed.values())


def find(name: str | None) -> Contract | None:
    """The contract called `name`, if known."""
    return _installed.get(name or "")


def pos_of(name: str | None) -> PosAdapter | None:
    """The POS adapter of contract `name`, if the contract is known and serves POS partners."""
    contract = find(name)
    return contract.pos if contract is not None else None


def rms_of(name: str | None) -> RmsAdapter | None:
    """The RMS adapter of contract `name`, if the contract is known and serves RMS partners."""
    contract = find(name)
    return contract.rms if contract is not None else None


def check(name: str, kind: str) -> None:
    """BadRequest naming `contract` unless `name` is a known contract serving partners of
    `kind`."""
    contract = find(name)
    if contract is None:
        known = ", ".join(names()) or "none"
        message = f"unknown contract {name!r}; known: {known}"
        raise BadRequest(message, details=field_details("contract", message))
    if kind not in contract.kinds:
        served = ", ".join(sorted(contract.kinds))
        message = f"contract {name!r} serves {served} partners, not {kind}"
        raise BadRequest(message, details=field_details("contract", message))
