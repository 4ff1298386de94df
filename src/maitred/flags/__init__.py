"""Flags: what needs a person's eye (held bookings, stale mappings, refused items…)."""
