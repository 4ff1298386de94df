"""What every maitred process installs before it runs: the partner contracts it speaks and the
outcome hooks of the order flow.

Called by the app factory, the worker and the command line (and by the tests' session), so
that the layers below (the domains, the runtime, the delivery engine) need not import what
plugs into them. Installing twice is harmless.
"""

from __future__ import annotations

from maitred import connectors
from maitred.checkout import stores
from maitred.orders import handlers


def install() -> None:
    """Install the contracts listed in `maitred.connectors` and the order flow's hooks."""
    connectors.install()
    handlers.register()
    stores.register()
