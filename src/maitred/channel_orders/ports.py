"""What the channel-order flow asks of a contract, in neutral terms (docs/decisions/0016): the
POS side builds the price, commit and fire webhooks and reads back the cart it was asked to
price; the notices build the `ORDER_UPDATED` body. Each contract implements them in its
connector; the flow finds them through the partner's contract, never by name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from maitred.channel_orders.models import ChannelOrder
from maitred.channel_orders.rules import Leg
from maitred.channel_orders.types import CartLine


@dataclass(frozen=True)
class Webhook:
    """One call to a POS: the path after its webhook URL, and the exact JSON body."""

    path: str
    body: str


class PosOrdering(Protocol):
    """A POS that prices, commits and fires channel orders by webhook and callback."""

    def leg_webhook(
        self, leg: Leg, order: ChannelOrder, *, store_id: str, callback_url: str
    ) -> Webhook:
        """The webhook asking the POS for `leg` of `order` (`store_id` is the POS's own)."""
        ...

    def requested_lines(self, order: ChannelOrder) -> tuple[CartLine, ...]:
        """The cart the channel asked for, as cart lines (for the money checks)."""
        ...


class OrderNotices(Protocol):
    """The webhooks telling a channel and a POS that an order changed."""

    def order_updated(self, order: ChannelOrder, *, callback_url: str, at: datetime) -> str:
        """The `ORDER_UPDATED`-like body for `order` as it now stands."""
        ...

    def order_updated_path(self, kind: str) -> str:
        """The path after a partner's webhook URL where a partner of `kind` gets order
        notices ("" for the URL itself)."""
        ...
