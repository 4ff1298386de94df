"""The outbound HTTP session: one aiohttp session per process."""

from __future__ import annotations

import aiohttp

from maitred import __version__
from maitred.config import Settings


def make_session(settings: Settings) -> aiohttp.ClientSession:
    """The process's client session (connection pooling, no redirects followed by callers)."""
    connector = aiohttp.TCPConnector(limit=max(settings.worker_concurrency, 16), ttl_dns_cache=60)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=settings.delivery_timeout),
        headers={"User-Agent": f"maitred/{__version__}"},
        auto_decompress=True,
    )
