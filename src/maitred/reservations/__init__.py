"""Reservations as the RMS last described them (full state per booking)."""
