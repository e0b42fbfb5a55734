"""The dispatcher's connecting grace outlasts any ``$connect``: a 410 from a connection whose
``$connect`` may still be running never deletes its row."""

from __future__ import annotations

from healthcoach_infra.functions import FUNCTIONS
from healthcoach_realtime.settings import DEFAULT_CONNECTING_GRACE_SECONDS

# Room for clock skew between the $connect host (which stamps connectedAt) and the dispatcher's.
CLOCK_MARGIN_SECONDS = 10


def test_the_grace_covers_the_connect_functions_timeout_with_margin() -> None:
    """connectedAt is stamped when $connect starts; it returns within its timeout at the latest."""
    assert FUNCTIONS["connect"].timeout_seconds + CLOCK_MARGIN_SECONDS <= DEFAULT_CONNECTING_GRACE_SECONDS
