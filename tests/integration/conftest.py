"""The local stack, started as a developer starts it (``hc-realtime dev`` in its own process).

- ``local_stack``: API Gateway's default limits; ``--no-disconnect-on-abort``, so a client lost
  without a close frame leaves its row behind (API Gateway's ``$disconnect`` is best effort)
  and the next delivery's 410 must clean it up once the row is older than the connecting grace
  (``CONNECTING_GRACE_SECONDS``, 2 s here instead of 30, so a test can wait it out).
- ``short_limits_stack``: idle timeout 1 s and lifetime 3 s, to watch both limits close sockets.

Tests use fresh user ids, so tests sharing one stack never see each other's events.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.local_stack import StackUrls, running_stack

IDLE_TIMEOUT_SECONDS = 1.0
CONNECTING_GRACE_SECONDS = 2
MAX_LIFETIME_SECONDS = 3.0


@pytest.fixture(scope="session")
def local_stack() -> Iterator[StackUrls]:
    """One stack for the session's integration tests."""
    grace = {"CONNECTING_GRACE_SECONDS": str(CONNECTING_GRACE_SECONDS)}
    with running_stack("--no-disconnect-on-abort", environment=grace) as stack:
        yield stack


@pytest.fixture(scope="module")
def short_limits_stack() -> Iterator[StackUrls]:
    """A stack whose idle timeout and lifetime are seconds, not minutes and hours."""
    with running_stack(
        "--idle-timeout", str(IDLE_TIMEOUT_SECONDS), "--max-lifetime", str(MAX_LIFETIME_SECONDS)
    ) as stack:
        yield stack
