"""A second contract plugs into the seam: a POS partner of a test-only contract that has no
table listing and no order listing goes through a reconcile sweep, a table refresh, a seated
booking and a capability report, and is only ever called through its own adapter.

The contract is registered here, at run time, exactly as `maitred.connectors` registers
Mozrest's; its partner's base URL is a recording HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.orm import Session

from maitred.capabilities import features
from maitred.capabilities import service as capabilities
from maitred.connectors.mozrest.rms_mapping import booking_state
from maitred.connectors.mozrest.wire import ReservationWebhook
from maitred.flows import tables as tables_flow
from maitred.flows.booking_intake import BookingIntake
from maitred.orders import followups, linking
from maitred.orders.models import PosOrder
from maitred.orders.ports import (
    Opened,
    OrderListing,
    OrderLookup,
    OrderRequest,
    OutboundCall,
)
from maitred.partners import contracts
from maitred.partners import service as partners_service
from maitred.partners.contracts import Contract
from maitred.partners.reach import Http, Reach
from maitred.partners.schemas import PartnerSpec
from maitred.runtime import Runtime
from maitred.tables.ports import TableListing
from maitred.venues import service as venues_service
from maitred.venues.schemas import LinkSpec, VenueSpec
from maitred.worker import runner
from tests.deliveries.helpers import dispatching, wait_until

CONTRACT = "tabs"  # the test-only contract
VENUE, RMS_VENUE, POS_VENUE = "v-tabs", "r-venue-1", "t-venue-1"
MOZREST_ROUTES = ("/venue/",)  # every route maitred calls on a Mozrest partner starts so


class TabsPos:
    """A POS whose API opens "tabs" and does nothing else maitred could use."""

    features: Mapping[str, str] = MappingProxyType({features.ORDERS_CREATE: "POST /tabs/{venue}"})

    def __init__(self) -> None:
        self.unexpected: list[str] = []  # calls maitred must never make

    def open_order(self, external_venue_id: str, request: OrderRequest) -> OutboundCall:
        body = json.dumps({"ref": request.order_id, "covers": request.party_size})
        digest = hashlib.sha256(str(request.party_size).encode()).hexdigest()
        return OutboundCall("POST", f"/tabs/{external_venue_id}", body, digest)

    def change_order(
        self, external_venue_id: str, pos_order_id: str, request: OrderRequest
    ) -> OutboundCall:
        self.unexpected.append("change_order")
        raise NotImplementedError

    def opened(self, body: str | None) -> Opened:
        return Opened(pos_order_id=json.loads(body or "{}").get("tab"))

    def refused_items(self, sent: str, status: int | None, answer: str | None) -> bool:
        return False

    async def list_tables(self, http: Http, reach: Reach) -> TableListing:
        self.unexpected.append("list_tables")
        raise NotImplementedError

    async def list_orders(
        self, http: Http, reach: Reach, *, closed_between: tuple[datetime, datetime] | None
    ) -> OrderListing:
        self.unexpected.append("list_orders")
        raise NotImplementedError

    async def get_order(self, http: Http, reach: Reach, ref: str) -> OrderLookup:
        self.unexpected.append("get_order")
        raise NotImplementedError


@dataclass
class Recorder:
    """An HTTP server that notes every request and opens a tab for `POST /tabs/{venue}`."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)
    server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path, await request.text()))
        if request.method == "POST" and request.path == f"/tabs/{POS_VENUE}":
            return web.json_response({"tab": "tab-1"}, status=201)
        return web.json_response({"error": "no such route"}, status=404)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")


async def _serve(app: web.Application) -> TestServer:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
def tabs() -> Iterator[TabsPos]:
    """The test-only contract, installed for the test."""
    pos = TabsPos()
    contracts.install(Contract(name=CONTRACT, kinds=frozenset({"pos"}), pos=pos))
    try:
        yield pos
    finally:
        contracts.uninstall(CONTRACT)


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    """The tabs POS: records what it is sent."""
    recording = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recording.handle)
    recording.server = await _serve(app)
    try:
        yield recording
    finally:
        await recording.server.close()


@pytest.fixture
async def rms_url() -> AsyncIterator[str]:
    """A Mozrest RMS listing the venue's tables (it has none)."""

    async def tables(request: web.Request) -> web.StreamResponse:
        return web.json_response([])

    app = web.Application()
    app.router.add_get(f"/venue/{RMS_VENUE}/tables", tables)
    server = await _serve(app)
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def _declare(runtime: Runtime, *, rms_url: str, pos_url: str) -> None:
    """A Mozrest RMS and a tabs POS at one venue, declared as an operator would."""
    rms = PartnerSpec(id="rms-1", kind="rms", base_url=rms_url, token="rms-token-123")
    pos = PartnerSpec(id="tabs-1", kind="pos", contract=CONTRACT, base_url=pos_url, token="t-1")
    venue = VenueSpec(
        id=VENUE,
        rms=LinkSpec(partner="rms-1", venue_id=RMS_VENUE),
        pos=LinkSpec(partner="tabs-1", venue_id=POS_VENUE),
    )

    def job(session: Session) -> None:
        partners_service.upsert_partner(session, rms, runtime.secrets)
        partners_service.upsert_partner(session, pos, runtime.secrets)
        venues_service.upsert_venue(session, venue)

    await runtime.writer.run(job)


async def _seat_a_booking(runtime: Runtime) -> None:
    """The RMS's webhook for a seated booking, taken in and followed as the hub does."""
    webhook = ReservationWebhook.model_validate(
        {
            "bookingId": "b-1",
            "venueId": RMS_VENUE,
            "partySize": 4,
            "status": "seated",
            "date": 1_790_000_000,
        }
    )
    receipt = await BookingIntake(runtime.batches).receive(
        partner_id="rms-1",
        external_venue_id=RMS_VENUE,
        state=booking_state(webhook),
        correlation_id=None,
    )
    assert receipt.venue_id == VENUE
    await runtime.writer.run(followups.apply_pending)


def _order(runtime: Runtime) -> PosOrder | None:
    with runtime.db.read_sessions() as session:
        return session.scalar(select(PosOrder).where(PosOrder.venue_id == VENUE))


async def test_a_pos_of_another_contract_is_called_only_through_its_adapter(
    runtime: Runtime,
    tabs: TabsPos,
    recorder: Recorder,
    rms_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(linking, "WALK_IN_WINDOW", 0.0)  # no walk-in is on its way here
    await _declare(runtime, rms_url=rms_url, pos_url=recorder.url)

    reports, _ = await runner.sweep(runtime)
    refreshed = await tables_flow.refresh(runtime, VENUE)
    await _seat_a_booking(runtime)
    async with dispatching(runtime):
        await wait_until(
            lambda: (order := _order(runtime)) is not None and order.status == "open",
            what="the tab to open",
        )
    with runtime.db.read_sessions() as session:
        report = capabilities.report(session, VENUE)

    # The seated booking reached the POS through its contract's own open-order call...
    assert [(method, path) for method, path, _ in recorder.requests] == [
        ("POST", f"/tabs/{POS_VENUE}")
    ]
    order = _order(runtime)
    assert order is not None
    assert order.pos_order_id == "tab-1"
    assert json.loads(recorder.requests[0][2]) == {"ref": order.id, "covers": 4}
    # ...and nothing else was asked of it: no Mozrest route, no call its adapter lacks.
    assert not [path for _, path, _ in recorder.requests if path.startswith(MOZREST_ROUTES)]
    assert tabs.unexpected == []
    assert [r.venue_id for r in reports] == []  # a POS without order listing is not swept
    assert refreshed.pos.count == 0  # nothing listed on the POS side
    pos_features = [(c.feature, c.call, c.state) for c in report.capabilities if c.role == "pos"]
    assert pos_features == [(features.ORDERS_CREATE, "POST /tabs/{venue}", "supported")]
