"""One package per partner contract: the only code that knows a wire format.

Each contract package exposes one `CONTRACT`; listing it in `CONTRACTS` is all it takes for
maitred to speak it (`maitred.boot` installs them at start-up).
"""

from __future__ import annotations

from maitred.connectors import mozrest, rbi
from maitred.partners import contracts

CONTRACTS = (mozrest.CONTRACT, rbi.CONTRACT)


def install() -> None:
    """Make every listed contract known to the process."""
    for contract in CONTRACTS:
        contracts.install(contract)
    rbi.install_hooks()
