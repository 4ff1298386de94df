"""Which network addresses maitred may call: the guard against partner URLs that point inside
the operator's network (SSRF).

Every outbound connection is checked on the address actually connected to, after DNS
(`maitred.transport` hands `NetPolicy.refusal` to the HTTP client), so a host name that
resolves, or re-resolves, to a private address is refused like the literal. Refused: private,
shared (CGNAT), link-local (cloud metadata), unspecified, multicast, reserved and documentation
ranges, and IPv6 forms that embed such an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo).
Loopback only with `allow_loopback`; networks listed in `allowed_networks` are allowed, except
cloud metadata addresses, which never are.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from yarl import URL


class NetSettings(Protocol):
    """The two settings a policy is made of (`maitred.config.Settings` has them; the settings
    module reads its networks with `parse_networks`, so this module does not import it)."""

    @property
    def allow_loopback(self) -> bool:
        """Whether loopback addresses may be called."""
        ...

    @property
    def allowed_networks(self) -> list[str]:
        """Networks allowed although private (CIDR text)."""
        ...


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_V4_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_V6_LOOPBACK = ipaddress.ip_network("::1/128")
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_LEGACY_V4 = re.compile(r"[0-9a-fA-FxX.]+")  # inet_aton spellings: 2130706433, 0x7f.1

# Cloud metadata services: refused even inside an allowed network (they hand out credentials).
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# (network, what it is), checked in order; the first match names the refusal.
_FORBIDDEN: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(net), label)
    for net, label in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("169.254.0.0/16", "link-local (cloud metadata)"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard"),
        ("2001:2::/48", "benchmarking"),
        ("2001:10::/28", "reserved"),
        ("2001:db8::/32", "documentation"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)


class ForbiddenAddress(OSError):
    """A connection maitred refused to open; the message says which address and why."""


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR strings (`10.1.0.0/16`, `fd12::/48`, a bare address) to networks; ValueError on junk."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def embedded(address: Address) -> list[Address]:
    """The address itself, then the IPv4 addresses an IPv6 address carries (mapped, NAT64, 6to4,
    Teredo server and client): a packet to any of these forms can end up at the IPv4 one."""
    found: list[Address] = [address]
    if isinstance(address, ipaddress.IPv4Address):
        return found
    if address in _MAPPED or address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address in _SIX_TO_FOUR and address.sixtofour is not None:
        found.append(address.sixtofour)
    if address in _TEREDO and address.teredo is not None:
        found.extend(address.teredo)
    return found


@dataclass(frozen=True)
class NetPolicy:
    """Where outbound calls may go: public addresses, plus loopback and listed networks if the
    operator says so."""

    allow_loopback: bool = False
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: NetSettings) -> NetPolicy:
        """The policy `MAITRED_ALLOW_LOOPBACK` and `MAITRED_ALLOWED_NETWORKS` describe."""
        return cls(settings.allow_loopback, parse_networks(settings.allowed_networks))

    def refusal(self, host: str) -> str | None:
        """Why maitred may not connect to the IP address `host`, or None when it may."""
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return f"{host} is not an IP address"
        for candidate in embedded(address):
            reason = self._candidate_refusal(candidate)
            if reason is not None:
                via = "" if candidate == address else f" (embedded in {address})"
                return f"{candidate}{via} is {reason}"
        return None

    def _candidate_refusal(self, address: Address) -> str | None:
        if address in _METADATA:
            return "a cloud metadata service"
        if any(address in network for network in self.allowed_networks):
            return None
        if address in _V4_LOOPBACK or address in _V6_LOOPBACK:
            return None if self.allow_loopback else "loopback (MAITRED_ALLOW_LOOPBACK is off)"
        for network, label in _FORBIDDEN:
            if address in network:
                hint = "; MAITRED_ALLOWED_NETWORKS can allow it" if "private" in label else ""
                return label + hint
        return None

    def url_refusal(self, url: str) -> str | None:
        """Why a URL whose host is an IP literal can never be called; None for host names
        (they are checked when connecting) and for allowed literals. The host is read as the
        HTTP client reads it (IDNA: fullwidth digits and ideographic dots become ASCII) and as
        the resolver does (a trailing dot only names the DNS root)."""
        try:
            host = URL(url).host
        except ValueError:
            return None  # the URL's own validation reports it
        address = _literal(host) if host else None
        if address is None:
            return None
        reason = self.refusal(str(address))
        return None if reason is None else f"maitred will not call {reason}"


def _literal(host: str) -> Address | None:
    """The address an IP-literal host stands for, legacy IPv4 spellings (`0x7f.1`) and a
    trailing dot (`169.254.169.254.`) included."""
    host = host.removesuffix(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_V4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None
