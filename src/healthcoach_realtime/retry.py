"""Bounded retries with exponential backoff and full jitter, shared by ``emit`` and the dispatcher.

Full jitter (a uniform delay in [0, min(cap, base * 2**(n-1))]) spreads the retries of many
callers hit by the same throttle, instead of having them all come back at once::

    policy = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.4)
    sleep(policy.delay(1))   # before the first retry: 0..0.05 s
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` counts every try, the first included; delays are in seconds."""

    attempts: int
    base_delay: float
    max_delay: float

    def delay(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        return rng() * min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
