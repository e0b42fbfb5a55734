"""EventBridge Scheduler, emulated: invoke a function at a fixed rate with the schedule's input.

Deployed, a ``rate(1 minute)`` schedule invokes the session sweeper; locally a ``PollerThread``
runs ``step`` every ``interval`` seconds, calling the same handler with the same event (the
schedule's input, ``SWEEPER_INPUT``), so the local stack closes expired sessions exactly as AWS
does, on a cadence chosen for development (``hc-realtime dev --session-sweep``)::

    schedule = ScheduledInvocation(sweeper.invoke, interval=30)
    PollerThread("session-sweeper", schedule.step, stop).start()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from healthcoach_realtime.sessions.sweep import SCHEDULE_INPUT

__all__ = ["SWEEPER_INPUT", "ScheduledInvocation"]

# What the deployed schedule sends the sweeper (infra/ sends the same object).
SWEEPER_INPUT: Mapping[str, str] = SCHEDULE_INPUT


class ScheduledInvocation:
    """One invocation per ``step``; ``step`` returns the pause before the next (``PollerThread``)."""

    def __init__(
        self,
        invoke: Callable[[dict[str, Any]], Any],
        *,
        interval: float,
        event: Mapping[str, Any] = SWEEPER_INPUT,
    ) -> None:
        self._invoke = invoke
        self._interval = interval
        self._event = dict(event)

    def step(self) -> float:
        """Invoke once (an exception propagates: ``PollerThread`` logs it and backs off)."""
        self._invoke(dict(self._event))
        return self._interval
