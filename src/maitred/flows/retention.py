"""The retention sweep: settled orders past `order_retention_days` are purged
(`orders.retention` says which)."""

from __future__ import annotations

from maitred.orders import retention
from maitred.runtime import Runtime


async def purge_expired(runtime: Runtime) -> int:
    """Purge every venue's settled orders past `order_retention_days`; the count."""
    older_than = retention.cutoff(runtime.settings)
    return await runtime.writer.run(lambda session: retention.purge(session, older_than=older_than))
