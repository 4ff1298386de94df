"""Store status for channel orders (contracts §2.9; docs/decisions/0032): the POS's reports, the
heartbeat every period per store and the answer's `isOnline`, the silence that makes a store
offline, and `STORE_UPDATED` to the venue's channels on every change of availability.

Contract-neutral: the bodies come from the partners' contracts (`StorePresence`); the delivery
kinds are named after them (`rbi.heartbeat`, `rbi.store_updated`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maitred.channel_orders import repository, stores
from maitred.channel_orders.models import StoreStatus
from maitred.channel_orders.store_ports import StorePresence
from maitred.channel_orders.stores import Watch, WatchedStore
from maitred.channel_orders.types import PartnerError
from maitred.checkout.background import BackgroundLoop
from maitred.clock import get_clock, now
from maitred.config import Settings, get_settings
from maitred.deliveries import outcomes
from maitred.deliveries import service as deliveries
from maitred.deliveries.models import DELIVERED, Delivery
from maitred.errors import Forbidden, NotFound, ServiceUnavailable, field_details
from maitred.partners import contracts
from maitred.runtime import Runtime
from maitred.venues.models import VenueLink

log = structlog.get_logger(__name__)

HEARTBEAT = "heartbeat"  # delivery kind suffix: `{contract}.heartbeat`
STORE_UPDATED = "store_updated"
MAX_PERIOD = 30.0  # seconds between two passes of the heartbeat loop at most


@dataclass(frozen=True)
class Context:
    """What the store flow needs of the process's settings."""

    public_url: str
    watch: Watch
    correlation_id: str | None = None

    @classmethod
    def of(cls, settings: Settings, correlation_id: str | None = None) -> Context:
        """The context for `settings`."""
        return cls(
            public_url=settings.public_url.rstrip("/"),
            watch=Watch(settings.channel_heartbeat_seconds, settings.channel_heartbeat_misses),
            correlation_id=correlation_id,
        )


@dataclass(frozen=True)
class Availability:
    """A store's availability as answered to its POS and to channels."""

    venue_id: str
    store_id: str
    online: bool
    reason: str | None
    changed: bool
    last_online_at: datetime | None = None


# -- the POS's report ---------------------------------------------------------------------


def report(
    pos_partner_id: str, store_id: str, online: bool, reason: str | None, ctx: Context
) -> Callable[[Session], Availability]:
    """The POS says at once that its store `store_id` went on- or offline."""

    def job(session: Session) -> Availability:
        venue_id = _venue_of(session, pos_partner_id, store_id)
        at = now()
        row = _row(session, venue_id, pos_partner_id, at)
        row.reported_at = at
        changed = _set(session, row, online, reason, ctx, at)
        return Availability(venue_id, store_id, row.online, row.reason, changed)

    return job


def availability_for_channel(
    session: Session, channel_partner_id: str, store_id: str, watch: Watch
) -> Availability:
    """The store `store_id` (the channel's own id) as the channel sees it: online unless its
    POS says otherwise or went silent."""
    store = repository.store_of(session, channel_partner_id, store_id)
    if store is None:
        message = f"unknown store {store_id!r}"
        raise NotFound(message, details=field_details("storeId", message))
    pos = repository.link_of(session, store.venue_id, "pos")
    row = None if pos is None else stores.get(session, store.venue_id, pos.partner_id)
    problem = stores.refusal(row, now(), watch)
    if pos is None:
        return Availability(store.venue_id, store_id, False, "the store has no POS", False)
    reason = None if problem is None else problem.message
    last = None if row is None else stores.last_word(row)
    return Availability(store.venue_id, store_id, problem is None, reason, False, last)


def refusal(
    session: Session, venue_id: str, pos_partner_id: str, watch: Watch
) -> PartnerError | None:
    """The STORE partner error an order for this store gets at pricing, if any."""
    return stores.refusal(stores.get(session, venue_id, pos_partner_id), now(), watch)


# -- the heartbeat ------------------------------------------------------------------------


def heartbeats(ctx: Context) -> Callable[[Session], int]:
    """One pass: mark silent stores offline, and enqueue a heartbeat for every store whose
    last one is a period old; how many heartbeats were enqueued."""

    def job(session: Session) -> int:
        presences = _presences()
        at = now()
        sent = 0
        for store in stores.watched(session, frozenset(presences)):
            row = stores.lock(session, store.venue_id, store.pos_partner_id)
            if row is None:
                # The watch starts with the first heartbeat (docs/decisions/0032).
                row = _row(session, store.venue_id, store.pos_partner_id, at)
                row.last_heartbeat_at = at
            elif row.online and stores.silent(row, at, ctx.watch):
                silence = ctx.watch.silence.total_seconds()
                why = f"no heartbeat answered for {silence:g} seconds"
                _set(session, row, False, why, ctx, at)
            if _due(session, store, at, ctx.watch):
                _send_heartbeat(session, store, presences[store.contract], ctx, at)
                sent += 1
        return sent

    return job


def on_heartbeat(session: Session, outcome: outcomes.Outcome) -> None:
    """The POS answered a heartbeat: its `isOnline` is the store's availability from now."""
    if outcome.state != DELIVERED:
        return  # not answered: the silence check takes over if it lasts
    delivery = session.get(Delivery, outcome.delivery_id)
    contract = contracts.find(outcome.kind.split(".", 1)[0])
    presence = None if contract is None else contract.stores
    if delivery is None or delivery.venue_id is None or presence is None:
        return
    online = presence.heartbeat_online(outcome.response_body)
    if online is None:
        log.warning("heartbeat answer without a readable isOnline", delivery_id=delivery.id)
        return
    at = now()
    if not _still_linked(session, delivery.venue_id, delivery.partner_id):
        return  # the venue or its POS link went away since the heartbeat was sent
    row = _row(session, delivery.venue_id, delivery.partner_id, at)
    row.last_heartbeat_at = at
    row.last_heartbeat_online = online
    reason = None if online else "the POS answered the heartbeat: offline"
    _set(session, row, online, reason, _hook_context(), at)


_configured: Context | None = None


def configure(settings: Settings) -> None:
    """The settings the heartbeat outcome hook uses in this process (the loop sets them)."""
    global _configured
    _configured = Context.of(settings)


def _hook_context() -> Context:
    return _configured or Context.of(get_settings())


def register() -> None:
    """Install the heartbeat outcome hook for every contract with store presence."""
    for contract in contracts.installed():
        if contract.stores is not None:
            outcomes.register(f"{contract.name}.{HEARTBEAT}", on_heartbeat)


class StoreHeartbeats(BackgroundLoop):
    """Runs `heartbeats` about five times a heartbeat period (at most every `MAX_PERIOD`)."""

    name = "store-heartbeats"  # its first pass heartbeats every store not heard of lately

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        configure(runtime.settings)

    async def _loop(self) -> None:
        settings = self.runtime.settings
        period = min(max(settings.channel_heartbeat_seconds / 5, 0.2), MAX_PERIOD)
        while True:
            try:
                if _presences():
                    await self.runtime.writer.run(heartbeats(Context.of(settings)))
            except ServiceUnavailable:
                log.warning("store heartbeats postponed: database unavailable")
            except Exception:
                log.exception("store heartbeat pass failed")
            self.passes += 1
            await get_clock().sleep(period)


# -- helpers ------------------------------------------------------------------------------


def _presences() -> dict[str, StorePresence]:
    """Contracts whose POS takes channel orders and has a heartbeat, by name."""
    return {
        c.name: c.stores
        for c in contracts.installed()
        if c.stores is not None and c.ordering is not None
    }


def _venue_of(session: Session, pos_partner_id: str, store_id: str) -> str:
    link = session.execute(
        select(VenueLink.venue_id, VenueLink.role).where(
            VenueLink.partner_id == pos_partner_id, VenueLink.external_id == store_id
        )
    ).first()
    if link is None:
        message = f"unknown store {store_id!r}"
        raise NotFound(message, details=field_details("storeId", message))
    if link.role != "pos":
        raise Forbidden(f"store {store_id!r} is not linked to this partner as its POS")
    return str(link.venue_id)


def _still_linked(session: Session, venue_id: str, pos_partner_id: str) -> bool:
    return (
        session.scalar(
            select(VenueLink.venue_id).where(
                VenueLink.venue_id == venue_id,
                VenueLink.partner_id == pos_partner_id,
                VenueLink.role == "pos",
            )
        )
        is not None
    )


def _row(session: Session, venue_id: str, pos_partner_id: str, at: datetime) -> StoreStatus:
    """The store's row, locked, created online when missing."""
    row = stores.lock(session, venue_id, pos_partner_id)
    if row is None:
        row = StoreStatus(venue_id=venue_id, pos_partner_id=pos_partner_id, online=True)
        session.add(row)
        session.flush()
    return row


def _set(
    session: Session,
    row: StoreStatus,
    online: bool,
    reason: str | None,
    ctx: Context,
    at: datetime,
) -> bool:
    """Set the store's availability; tell its channels when it changed."""
    changed = row.online != online
    row.online = online
    row.reason = reason
    session.flush()
    if changed:
        log.info("store availability changed", venue_id=row.venue_id, online=online)
        _announce(session, row.venue_id, online, ctx, at)
    return changed


def _announce(session: Session, venue_id: str, online: bool, ctx: Context, at: datetime) -> None:
    """One `STORE_UPDATED` to each of the venue's channels (coalesced: full state)."""
    links = session.execute(
        select(VenueLink.partner_id).where(
            VenueLink.venue_id == venue_id, VenueLink.role == "channel"
        )
    ).scalars()
    for partner_id in links:
        link = repository.partner_link(session, venue_id, partner_id)
        contract = None if link is None else contracts.find(link.contract)
        presence = None if contract is None else contract.stores
        if link is None or presence is None or not link.webhook_url:
            continue
        callback_url = f"{ctx.public_url}/v1/channel/stores/{link.external_id}"
        body = presence.store_updated(
            store_id=link.external_id, online=online, at=at, callback_url=callback_url
        )
        deliveries.enqueue_webhook(
            session,
            partner_id=partner_id,
            webhook_url=link.webhook_url,
            venue_id=venue_id,
            kind=f"{link.contract}.{STORE_UPDATED}",
            body=body,
            ordering_key=f"store:{venue_id}:updates",
            coalesce_key=f"store:{venue_id}",
            correlation_id=ctx.correlation_id,
        )


def _heartbeat_key(store: WatchedStore) -> str:
    return f"store:{store.venue_id}:{store.pos_partner_id}"


def _due(session: Session, store: WatchedStore, at: datetime, watch: Watch) -> bool:
    """Whether the store's last heartbeat was enqueued a period ago (or never)."""
    last: Any = session.scalar(
        select(func.max(Delivery.created_at)).where(
            Delivery.kind == f"{store.contract}.{HEARTBEAT}",
            Delivery.coalesce_key == _heartbeat_key(store),
        )
    )
    if last is None:
        return True
    if last.tzinfo is None:
        last = last.replace(tzinfo=at.tzinfo)
    return bool(at - last >= timedelta(seconds=watch.period))


def _send_heartbeat(
    session: Session, store: WatchedStore, presence: StorePresence, ctx: Context, at: datetime
) -> None:
    """The heartbeat webhook; useless once the next is due, so it expires then and a newer
    one replaces it (docs/decisions/0016's table)."""
    hook = presence.heartbeat(store_id=store.store_id, at=at)
    deliveries.enqueue_webhook(
        session,
        partner_id=store.pos_partner_id,
        webhook_url=store.webhook_url,
        path=hook.path,
        venue_id=store.venue_id,
        kind=f"{store.contract}.{HEARTBEAT}",
        body=hook.body,
        ordering_key=_heartbeat_key(store),
        coalesce_key=_heartbeat_key(store),
        correlation_id=ctx.correlation_id,
        expires_at=at + timedelta(seconds=ctx.watch.period),
    )
