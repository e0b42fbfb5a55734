"""The subscriber delivery engine: FIFO per event group, UNORDERED, retries, dead letters.

Every published event that a RUNNING subscriber's filters match is handed to ``submit``, which
returns at once (PutEvents never waits for a delivery). Deliveries run on a pool of daemon
worker threads (``EventsV2Options.workers``):

- **FIFO** subscriber: one lane per (subscriber, event group); events without an
  ``EventGroupId`` form one group of their own. A lane delivers its events in publish order,
  one at a time; different lanes run concurrently. A failed delivery holds its lane only: it
  is retried after a backoff while other lanes go on, until ``RetryPolicy.MaxRetryAttempts``
  retries are spent or the event is ``MaxEventAgeInSeconds`` old; then the event goes to the
  ``OnFailureConfiguration`` queue (a record of ids, no payload) or is dropped when there is
  none, and the lane moves on to its next event.
- **UNORDERED** subscriber: each delivery is a lane of its own, so nothing orders them; with
  ``reorder_unordered`` each is held for a random delay first, so they overtake each other.

Delays (jitter, reordering, backoff) are timers on one scheduler thread, never sleeps on a
worker. ``wait_idle(timeout)`` waits until nothing is in flight (no polling); ``close()`` stops
the threads and forgets what was pending (a later ``submit`` starts them again). Per-subscriber
counters: ``delivered``, ``retried`` (attempts that failed and were scheduled again),
``dead_lettered``, ``dropped`` (failed with no on-failure queue, or that queue refused too).
Not emulated: batching (SQS gets one event per message anyway), delivery metrics and logs.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from healthcoach_realtime.local.eventsv2.events import PublishedEvent
from healthcoach_realtime.local.eventsv2.exceptions import DeliveryError
from healthcoach_realtime.local.eventsv2.faults import FaultPlan
from healthcoach_realtime.local.eventsv2.options import EventsV2Options
from healthcoach_realtime.local.eventsv2.sqs_sender import SqsSender
from healthcoach_realtime.local.eventsv2.subscribers import SubscriberConfig, dead_letter_message, render

__all__ = ["DeliveryCounters", "DeliveryEngine", "SubscriberHandle", "retry_delay"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class DeliveryCounters:
    """What happened to one subscriber's deliveries so far."""

    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    dropped: int = 0


@dataclass(eq=False, slots=True)
class SubscriberHandle:
    """A subscriber as delivery sees it: its ARN, its current settings (replaced on update)."""

    arn: str
    config: SubscriberConfig
    deleted: bool = False
    counters: DeliveryCounters = field(default_factory=DeliveryCounters)


@dataclass(eq=False, slots=True)
class _Delivery:
    handle: SubscriberHandle
    event: PublishedEvent
    attempts: int = 0


@dataclass(eq=False, slots=True)
class _Lane:
    """Deliveries that go one at a time, in order; ``key`` is ``None`` for a one-off."""

    key: tuple[str, str] | None
    generation: int
    pending: deque[_Delivery]


def retry_delay(
    attempts: int, age_seconds: float, config: SubscriberConfig, options: EventsV2Options
) -> float | None:
    """Seconds to wait before the next attempt after ``attempts`` failed ones, or ``None``
    when the retry policy is spent (retries used up, or the event too old)."""
    retries_done = attempts - 1
    if retries_done >= config.max_retry_attempts or age_seconds >= config.max_event_age_seconds:
        return None
    return float(min(options.retry_base_seconds * 2**retries_done, options.retry_max_seconds))


class DeliveryEngine:
    """Delivers submitted events to their subscribers' targets (thread-safe)."""

    def __init__(
        self,
        sender: SqsSender,
        faults: FaultPlan,
        options: EventsV2Options,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sender = sender
        self._faults = faults
        self._options = options
        self._clock = clock
        self._rng = random.Random(options.seed)  # noqa: S311 - delays, not secrets
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._timer_wakeup = threading.Condition(self._lock)
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._timers: list[tuple[float, int, _Lane]] = []
        self._tiebreak = itertools.count()
        self._in_flight = 0
        self._generation = 0
        self._ready: queue.SimpleQueue[_Lane | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, handle: SubscriberHandle, event: PublishedEvent) -> None:
        """Queue ``event`` for ``handle``'s target; returns at once."""
        with self._lock:
            self._start_locked()
            self._in_flight += 1
            delivery = _Delivery(handle, event)
            if not handle.config.fifo:
                lane = _Lane(None, self._generation, deque([delivery]))
                self._dispatch_locked(lane, self._unordered_delay())
                return
            key = (handle.arn, event.group_id or "")
            lane_or_none = self._lanes.get(key)
            if lane_or_none is not None:
                lane_or_none.pending.append(delivery)
                return
            lane = self._lanes[key] = _Lane(key, self._generation, deque([delivery]))
            self._dispatch_locked(lane, self._fifo_delay())

    def counters(self, handle: SubscriberHandle) -> DeliveryCounters:
        """A snapshot of ``handle``'s counters."""
        with self._lock:
            return replace(handle.counters)

    @property
    def in_flight(self) -> int:
        """Deliveries submitted and not yet finished."""
        with self._lock:
            return self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is in flight; ``False`` if ``timeout`` seconds pass first."""
        with self._lock:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def close(self) -> None:
        """Stop the threads; what was pending is forgotten. Idempotent."""
        with self._lock:
            threads, self._threads = self._threads, []
            if not threads:
                return
            self._generation += 1
            self._timer_wakeup.notify_all()
            ready = self._ready
        for _ in threads:
            ready.put(None)
        for thread in threads:
            thread.join(timeout=5)
        with self._lock:
            self._lanes.clear()
            self._timers.clear()
            self._in_flight = 0
            self._idle.notify_all()

    def _start_locked(self) -> None:
        if self._threads:
            return
        self._ready = queue.SimpleQueue()
        generation = self._generation
        self._threads = [
            threading.Thread(target=self._schedule, args=(generation,), name="eventsv2-timers", daemon=True)
        ]
        self._threads += [
            threading.Thread(
                target=self._work, args=(self._ready,), name=f"eventsv2-delivery-{n}", daemon=True
            )
            for n in range(self._options.workers)
        ]
        for thread in self._threads:
            thread.start()

    def _dispatch_locked(self, lane: _Lane, delay: float) -> None:
        if delay <= 0:
            self._ready.put(lane)
            return
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._tiebreak), lane))
        self._timer_wakeup.notify()

    def _fifo_delay(self) -> float:
        return (
            self._rng.uniform(0, self._options.fifo_jitter_seconds)
            if self._options.fifo_jitter_seconds
            else 0.0
        )

    def _unordered_delay(self) -> float:
        if not self._options.reorder_unordered or not self._options.unordered_max_delay_seconds:
            return 0.0
        return self._rng.uniform(0, self._options.unordered_max_delay_seconds)

    def _schedule(self, generation: int) -> None:
        """The timer thread: hands each lane to the workers when its delay is over."""
        with self._lock:
            while self._generation == generation:
                if not self._timers:
                    self._timer_wakeup.wait()
                    continue
                wait = self._timers[0][0] - time.monotonic()
                if wait > 0:
                    self._timer_wakeup.wait(wait)
                    continue
                self._ready.put(heapq.heappop(self._timers)[2])

    def _work(self, ready: queue.SimpleQueue[_Lane | None]) -> None:
        while True:
            lane = ready.get()
            if lane is None:
                return
            with self._lock:
                if lane.generation != self._generation:
                    continue
                delivery = lane.pending[0]
            self._attempt(lane, delivery)

    def _attempt(self, lane: _Lane, delivery: _Delivery) -> None:
        handle, event = delivery.handle, delivery.event
        if handle.deleted:
            self._finish(lane, None)
            return
        config = handle.config
        delivery.attempts += 1
        try:
            self._faults.raise_if_armed(handle.arn, event.view)
            self.sender.send(render(config, event))
        except DeliveryError as exc:
            error = exc
        except Exception as exc:
            error = DeliveryError("InternalFailure", repr(exc))
        else:
            self._finish(lane, "delivered")
            return
        delay = retry_delay(delivery.attempts, self._clock() - event.ingestion_time, config, self._options)
        if delay is not None:
            with self._lock:
                if lane.generation == self._generation:
                    handle.counters.retried += 1
                    self._dispatch_locked(lane, delay)
            return
        self._finish(lane, self._dead_letter(delivery, config, error))

    def _dead_letter(self, delivery: _Delivery, config: SubscriberConfig, error: DeliveryError) -> str:
        handle, event = delivery.handle, delivery.event
        message = dead_letter_message(
            config, event, subscriber_arn=handle.arn, error=error, attempts=delivery.attempts
        )
        if message is None:
            log.warning(
                "eventsv2: dropped event %s of %s after %d attempts (no on-failure queue): %s",
                event.event_id, handle.arn, delivery.attempts, error,
            )  # fmt: skip
            return "dropped"
        try:
            self.sender.send(message)
        except Exception as exc:
            log.warning(
                "eventsv2: dropped event %s of %s: its on-failure queue refused it: %s",
                event.event_id,
                handle.arn,
                exc,
            )
            return "dropped"
        log.warning(
            "eventsv2: dead-lettered event %s of %s after %d attempts: %s",
            event.event_id, handle.arn, delivery.attempts, error,
        )  # fmt: skip
        return "dead_lettered"

    def _finish(self, lane: _Lane, outcome: str | None) -> None:
        with self._lock:
            if lane.generation != self._generation:
                return
            delivery = lane.pending.popleft()
            counters = delivery.handle.counters
            if outcome is not None:
                setattr(counters, outcome, getattr(counters, outcome) + 1)
            self._in_flight -= 1
            if lane.pending:
                self._dispatch_locked(lane, self._fifo_delay())
            elif lane.key is not None:
                del self._lanes[lane.key]
            if self._in_flight == 0:
                self._idle.notify_all()
