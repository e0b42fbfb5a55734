"""Fault injection for tests: make chosen deliveries fail as a refusing target would.

``service.faults.fail_next(predicate, times=n)`` makes the next ``n`` delivery attempts whose
event (the subscriber's view, ``{"Data", "Metadata", "SystemMetadata"}``) satisfies
``predicate`` raise ``DeliveryError`` before anything is sent; ``times=None`` fails them until
``fault.cancel()`` or ``faults.clear()``. Each failed attempt is retried, dead-lettered or
dropped exactly as a real failure. Dead-letter sends are never failed by a fault.

Example: ``faults.fail_next(lambda e: e["SystemMetadata"].get("EventGroupId") == "alice",
times=3)`` holds back alice's events for three attempts while other groups flow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from healthcoach_realtime.local.eventsv2.exceptions import DeliveryError

__all__ = ["EventPredicate", "Fault", "FaultPlan"]

EventPredicate = Callable[[Mapping[str, Any]], bool]


class Fault:
    """One armed fault; ``remaining`` is ``None`` for "until cancelled"."""

    def __init__(
        self,
        predicate: EventPredicate,
        times: int | None,
        code: str,
        message: str,
        subscriber_arn: str | None,
    ) -> None:
        self.predicate = predicate
        self.remaining = times
        self.code = code
        self.message = message
        self.subscriber_arn = subscriber_arn
        self.fired = 0
        self.cancelled = False

    def cancel(self) -> None:
        """Stop failing deliveries."""
        self.cancelled = True

    @property
    def active(self) -> bool:
        """Whether it will still fail a matching delivery."""
        return not self.cancelled and (self.remaining is None or self.remaining > 0)


class FaultPlan:
    """The armed faults of one service (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def fail_next(
        self,
        predicate: EventPredicate,
        *,
        times: int | None = 1,
        code: str = "ServiceUnavailable",
        message: str = "injected delivery failure",
        subscriber_arn: str | None = None,
    ) -> Fault:
        """Fail the next ``times`` deliveries (of ``subscriber_arn``'s, if given) matching ``predicate``."""
        fault = Fault(predicate, times, code, message, subscriber_arn)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            for fault in self._faults:
                fault.cancel()
            self._faults.clear()

    def raise_if_armed(self, subscriber_arn: str, event: Mapping[str, Any]) -> None:
        """Raise ``DeliveryError`` when an armed fault matches this delivery attempt."""
        if not self._faults:
            return
        with self._lock:
            self._faults = [fault for fault in self._faults if fault.active]
            for fault in self._faults:
                if fault.subscriber_arn not in (None, subscriber_arn) or not fault.predicate(event):
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                fault.fired += 1
                raise DeliveryError(fault.code, fault.message)
