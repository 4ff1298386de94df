"""Wakes this process's dispatcher when a delivery is committed, so it need not wait a poll."""

from __future__ import annotations

from maitred.signals import deliveries

subscribe = deliveries.subscribe
unsubscribe = deliveries.unsubscribe
notify = deliveries.notify
