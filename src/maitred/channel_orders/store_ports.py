"""What the store-status flow asks of a contract, in neutral terms (docs/decisions/0032): the
heartbeat webhook a POS gets and how its answer says whether the store is online, and the
`STORE_UPDATED`-like notice a channel gets. The flow finds them through the partner's contract."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from maitred.channel_orders.ports import Webhook


class StorePresence(Protocol):
    """A contract's store heartbeat (toward a POS) and store notices (toward a channel)."""

    def heartbeat(self, *, store_id: str, at: datetime) -> Webhook:
        """The heartbeat asking a POS whether its store `store_id` (its own id) takes orders."""
        ...

    def heartbeat_online(self, answer: str | None) -> bool | None:
        """Whether the heartbeat's answer says the store is online; None when it says
        nothing readable (that counts as no answer)."""
        ...

    def store_updated(self, *, store_id: str, online: bool, at: datetime, callback_url: str) -> str:
        """The body telling a channel its store `store_id` (its own id) went on- or offline."""
        ...
