"""Imports every table so `Base.metadata` is complete (migrations, tests)."""

from maitred.db.base import Base
from maitred.deliveries.models import Delivery, DeliveryAttempt, Endpoint
from maitred.inbox.models import InboundEvent
from maitred.monitoring.models import Trace
from maitred.partners.models import Partner
from maitred.reservations.models import Reservation
from maitred.venues.models import Venue, VenueLink

__all__ = [
    "Base",
    "Delivery",
    "DeliveryAttempt",
    "Endpoint",
    "InboundEvent",
    "Partner",
    "Reservation",
    "Trace",
    "Venue",
    "VenueLink",
]
