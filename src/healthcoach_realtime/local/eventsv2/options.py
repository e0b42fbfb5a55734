"""The EventsV2 emulator's knobs (``Emulator(..., eventsv2=EventsV2Options(...))``).

- ``workers`` (16): delivery threads shared by every subscriber; deliveries of different
  event groups (FIFO) or events (UNORDERED) run concurrently up to this many.
- ``reorder_unordered`` (on) and ``unordered_max_delay_seconds`` (0.05): hold each UNORDERED
  delivery for a random 0..max delay, so deliveries overtake each other as AWS allows them to;
  an emulator that delivered in order would hide code that wrongly relies on it.
- ``fifo_jitter_seconds`` (0.002): a random 0..jitter delay before each FIFO delivery, so
  different groups interleave; the order within a group always holds. 0 sends at once.
- ``retry_base_seconds`` (0.05) and ``retry_max_seconds`` (1.0): the backoff before retry n is
  ``base * 2**(n-1)`` capped at max (AWS's is longer; locally, seconds matter). The subscriber's
  ``RetryPolicy`` says how many retries and how old an event may get.
- ``dedup_window_seconds`` (300): PutEvents' deduplication window.
- ``retention_max_events`` (100,000): at most this many published events kept per bus (beside
  its ``RetentionPeriodInDays``), so a long load test cannot exhaust memory.
- ``seed`` (None): seeds the delays' random generator, for reproducible runs.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EventsV2Options"]


@dataclass(frozen=True, slots=True)
class EventsV2Options:
    """Delivery and bookkeeping knobs; the defaults suit the local stack."""

    workers: int = 16
    reorder_unordered: bool = True
    unordered_max_delay_seconds: float = 0.05
    fifo_jitter_seconds: float = 0.002
    retry_base_seconds: float = 0.05
    retry_max_seconds: float = 1.0
    dedup_window_seconds: float = 300.0
    retention_max_events: int = 100_000
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        for name in (
            "unordered_max_delay_seconds",
            "fifo_jitter_seconds",
            "retry_base_seconds",
            "retry_max_seconds",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
