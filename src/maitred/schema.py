"""Every table, imported so `Base.metadata` is complete (migrations, tests). It names every
domain, so it sits at the top, beside the entry points."""

from maitred.capabilities.models import Capability
from maitred.channel_orders.models import ChannelOrder, ChannelOrderEvent, StoreStatus
from maitred.db.base import Base
from maitred.db.generations import Generation
from maitred.deliveries.models import Delivery, DeliveryAttempt, Endpoint
from maitred.flags.models import Flag
from maitred.inbox.models import InboundEvent
from maitred.monitoring.models import Trace
from maitred.orders.models import Check, CheckClaim, PosOrder
from maitred.partners.models import Partner
from maitred.reservations.models import Reservation
from maitred.tables.models import PosTableRecord, RmsTableRecord, TableMapping
from maitred.venues.models import Venue, VenueLink

__all__ = [
    "Base",
    "Capability",
    "ChannelOrder",
    "ChannelOrderEvent",
    "Check",
    "CheckClaim",
    "Delivery",
    "DeliveryAttempt",
    "Endpoint",
    "Flag",
    "Generation",
    "InboundEvent",
    "Partner",
    "PosOrder",
    "PosTableRecord",
    "Reservation",
    "RmsTableRecord",
    "StoreStatus",
    "TableMapping",
    "Trace",
    "Venue",
    "VenueLink",
]
