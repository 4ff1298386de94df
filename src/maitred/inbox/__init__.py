"""Inbound event records: dedupe keys, so a partner's retry has no second effect."""
