"""Venues and the ids each partner uses for them."""
