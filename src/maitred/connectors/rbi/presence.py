"""The RBI contract's store status (contracts §2.9; docs/decisions/0032): the heartbeat a POS
gets at `{webhook_url}/store-heartbeat` and the `isOnline` of its answer, `STORE_UPDATED` to a
channel's webhook URL (the routes are in `store_routes`)."""

from __future__ import annotations

import json
from datetime import datetime

from maitred.channel_orders.ports import Webhook
from maitred.connectors.rbi import pos_wire
from maitred.connectors.rbi.events_wire import StoreUpdated

HEARTBEAT_PATH = "/store-heartbeat"


class RbiStores:
    """The RBI contract's `StorePresence`."""

    def heartbeat(self, *, store_id: str, at: datetime) -> Webhook:
        """`POST {webhook_url}/store-heartbeat` `{storeId, eventTime}`."""
        body = pos_wire.Heartbeat(storeId=store_id, eventTime=at)
        return Webhook(HEARTBEAT_PATH, body.model_dump_json())

    def heartbeat_online(self, answer: str | None) -> bool | None:
        """The answer's `isOnline` (a JSON boolean), None when absent or not a boolean."""
        try:
            decoded = json.loads(answer or "")
        except ValueError:
            return None
        value = decoded.get("isOnline") if isinstance(decoded, dict) else None
        return value if isinstance(value, bool) else None

    def store_updated(self, *, store_id: str, online: bool, at: datetime, callback_url: str) -> str:
        """`{eventType: STORE_UPDATED, eventTime, storeId, callbackUrl, isOnline}`."""
        body = StoreUpdated.model_construct(
            eventType="STORE_UPDATED",
            eventTime=at,
            storeId=store_id,
            callbackUrl=callback_url,
            isOnline=online,
        )
        return body.model_dump_json(exclude_none=True)
