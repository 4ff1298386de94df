"""What every maitred process installs before it runs: the outcome hooks of the order flow.

Called by the app factory, the worker and the command line (and by the tests' session), so
that the lower layers (the runtime, the delivery engine) need not import the domains that
hook into them. Installing twice is harmless.
"""

from __future__ import annotations

from maitred.orders import handlers


def install() -> None:
    """Register the delivery outcome hooks of the order flow."""
    handlers.register()
