"""The Mozrest contract's adapters: maitred's ports for a Mozrest POS and a Mozrest RMS."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

import aiohttp
from pydantic import ValidationError

from maitred.capabilities import features
from maitred.connectors.mozrest import pos_client, pos_mapping, tables
from maitred.connectors.mozrest.pos_wire import CreateOrderResponse
from maitred.orders.ports import (
    CheckEvent,
    Opened,
    OrderListing,
    OrderLookup,
    OrderRequest,
    OutboundCall,
)
from maitred.partners.reach import Reach
from maitred.tables.ports import TableListing

_TABLES = "GET /venue/{venueId}/tables"


class MozrestPos:
    """A POS speaking Mozrest's POS leg (contracts §1.6): maitred calls its API."""

    features: Mapping[str, str] = MappingProxyType(
        {
            features.TABLES_LIST: _TABLES,
            features.ORDERS_CREATE: "POST /venue/{venueId}/orders",
            features.ORDERS_UPDATE: "PUT /venue/{venueId}/orders/{orderId}",
            features.ORDERS_LIST: "GET /venue/{venueId}/orders",
            features.ORDERS_GET: "GET /venue/{venueId}/orders/{orderId}",
        }
    )

    def open_order(self, external_venue_id: str, request: OrderRequest) -> OutboundCall:
        """`POST /venue/{venueId}/orders` with the booking's order."""
        return self._call("POST", f"/venue/{external_venue_id}/orders", request)

    def change_order(
        self, external_venue_id: str, pos_order_id: str, request: OrderRequest
    ) -> OutboundCall:
        """decision 4: `PUT /venue/{venueId}/orders/{orderId}` with the create-order body."""
        return self._call("PUT", f"/venue/{external_venue_id}/orders/{pos_order_id}", request)

    @staticmethod
    def _call(method: str, path: str, request: OrderRequest) -> OutboundCall:
        body = pos_mapping.create_request(request)
        digest = hashlib.sha256(body.model_dump_json(exclude={"id"}).encode()).hexdigest()
        return OutboundCall(method, path, body.model_dump_json(exclude_none=True), digest)

    def opened(self, body: str | None) -> Opened:
        """The POS's `{id, checkNumber}` answer to a create."""
        try:
            answer = CreateOrderResponse.model_validate_json(body or "")
        except ValidationError:
            return Opened()
        number = answer.checkNumber
        return Opened(str(answer.id), None if number is None else str(number))

    def refused_items(self, sent: str, status: int | None, answer: str | None) -> bool:
        """decision 9: `422 Unknown SKU(s)` to a create that carried `items` refuses the
        pre-ordered items, not the order."""
        unknown = status == 422 and "unknown sku" in (answer or "").lower()
        return unknown and "items" in json.loads(sent)

    async def list_tables(self, http: aiohttp.ClientSession, reach: Reach) -> TableListing:
        """`GET /venue/{venueId}/tables` (contracts §1.6.1)."""
        return await tables.fetch_tables(http, reach, label="pos tables")

    async def list_orders(
        self,
        http: aiohttp.ClientSession,
        reach: Reach,
        *,
        closed_between: tuple[datetime, datetime] | None,
    ) -> OrderListing:
        """`GET /venue/{venueId}/orders?status=open|closed&from=&until=` (§1.6.4)."""
        return await pos_client.pull(http, reach, closed_between=closed_between)

    async def get_order(self, http: aiohttp.ClientSession, reach: Reach, ref: str) -> OrderLookup:
        """`GET /venue/{venueId}/orders/{orderId}` (§1.6.5)."""
        return await pos_client.lookup(http, reach, ref)


class MozrestRms:
    """An RMS speaking Mozrest's RMS leg (§1.8, §1.9): it sends bookings, gets `pos_order`."""

    features: Mapping[str, str] = MappingProxyType({features.TABLES_LIST: _TABLES})

    def check_event(self, event: CheckEvent) -> str:
        """The `pos_order` webhook body (seed 000 §1.2)."""
        return pos_mapping.event_body(event)

    async def list_tables(self, http: aiohttp.ClientSession, reach: Reach) -> TableListing:
        """`GET /venue/{venueId}/tables` (contracts §1.8.2)."""
        return await tables.fetch_tables(http, reach, label="rms tables")


def ping_body(partner_id: str, sent_at: str) -> str:
    """The signed test event maitred sends a partner's webhook."""
    body = {"type": "ping", "partnerId": partner_id, "sentAt": sent_at}
    return json.dumps(body, separators=(",", ":"))
