"""A hub with two RMS partners and a POS, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maitred.config import Settings
from tests.factories import Hub, open_hub


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    """The running hub (venue v1: RMS A + POS pos-1, POS venue id pos-venue-1)."""
    with open_hub(settings) as running:
        yield running
