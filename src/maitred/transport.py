"""The outbound HTTP session: one aiohttp session per process, guarded against SSRF."""

from __future__ import annotations

import errno
import socket

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.connector import AddrInfoType, SocketFactoryType

from maitred import __version__
from maitred.config import Settings
from maitred.netguard import ForbiddenAddress, NetPolicy


def guarded_socket_factory(policy: NetPolicy) -> SocketFactoryType:
    """Opens a socket only for an address `policy` allows: checked on the address about to be
    connected, after DNS, so names resolving (or re-resolving) to private addresses and IP
    literals are refused alike, and before any packet leaves."""

    def factory(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        reason = policy.refusal(str(sockaddr[0]))
        if reason is not None:
            raise ForbiddenAddress(errno.EACCES, f"refused: {reason}")
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def make_session(
    settings: Settings, *, resolver: AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """The process's client session (connection pooling, only allowed addresses; no redirects
    followed by callers). `resolver` replaces the system's DNS (tests)."""
    connector = aiohttp.TCPConnector(
        limit=max(settings.worker_concurrency, 16),
        ttl_dns_cache=60,
        resolver=resolver,
        socket_factory=guarded_socket_factory(NetPolicy.from_settings(settings)),
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=settings.delivery_timeout),
        headers={"User-Agent": f"maitred/{__version__}"},
        auto_decompress=True,
        trust_env=False,  # no proxy from the environment: the guard sees the real target
    )
