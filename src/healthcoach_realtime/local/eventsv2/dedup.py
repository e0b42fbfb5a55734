"""PutEvents deduplication: a fixed 300-second window per (account, event group, dedup id).

An entry whose key was published less than ``window_seconds`` ago is answered ``DEDUPLICATED``
with the first publication's ``EventId`` and is not delivered again. Entries without an
``EventGroupId`` share the account's empty group. The clock is injected so tests can move time.
Not thread-safe: the service calls it under its lock.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DEDUP_WINDOW_SECONDS", "DedupKey", "DedupWindow", "Publication"]

DEDUP_WINDOW_SECONDS = 300.0

DedupKey = tuple[str, str, str, str]
"""(account, region, event group or "", deduplication id)."""


@dataclass(frozen=True, slots=True)
class Publication:
    """The first publication of a key: what a duplicate is answered with."""

    event_id: str
    sequence_number: int
    published_at: float


class DedupWindow:
    """The keys published within the window, forgotten in publication order."""

    def __init__(
        self, window_seconds: float = DEDUP_WINDOW_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.window_seconds = window_seconds
        self._clock = clock
        self._by_key: dict[DedupKey, Publication] = {}
        self._order: deque[tuple[float, DedupKey]] = deque()

    def __len__(self) -> int:
        self._forget_expired()
        return len(self._by_key)

    def original(self, key: DedupKey) -> Publication | None:
        """The publication ``key`` duplicates, or ``None`` when it is new."""
        self._forget_expired()
        return self._by_key.get(key)

    def remember(self, key: DedupKey, event_id: str, sequence_number: int) -> None:
        """Record a publication of ``key`` now."""
        now = self._clock()
        self._by_key[key] = Publication(event_id, sequence_number, now)
        self._order.append((now, key))

    def _forget_expired(self) -> None:
        horizon = self._clock() - self.window_seconds
        while self._order and self._order[0][0] <= horizon:
            published_at, key = self._order.popleft()
            kept = self._by_key.get(key)
            if kept is not None and kept.published_at == published_at:
                del self._by_key[key]
