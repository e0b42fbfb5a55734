"""Fixtures of the functional tier: loopback fakes the handlers under test call over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.management_api import ManagementApiFake


@pytest.fixture
def api() -> Iterator[ManagementApiFake]:
    """The @connections management API on a loopback port, recording what it is sent."""
    with ManagementApiFake() as fake:
        yield fake
