"""Use cases that need the process (its HTTP session, writer, clock and settings): fetching
tables, reconciling orders with the POS, taking bookings in, retention sweeps.

They call partners through the adapter of each partner's contract (`maitred.partners.contracts`)
and never name a contract; the domains below them take a session and return values.
"""
