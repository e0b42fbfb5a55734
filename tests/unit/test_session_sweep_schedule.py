"""The sweeper's passes within one scheduled run, and the local schedule that stands in for
EventBridge Scheduler: pure timing and a counted invocation."""

from __future__ import annotations

from typing import Any

import pytest

from healthcoach_realtime.local.scheduler import SWEEPER_INPUT, ScheduledInvocation
from healthcoach_realtime.sessions.sweep import pass_offsets


def test_two_passes_a_minute_start_30_s_apart() -> None:
    """Deployed: one run a minute, two passes, at 0 s and 30 s (so at most 30 s after exp, plus a Scan)."""
    assert pass_offsets(2) == [0.0, 30.0]


def test_one_pass_starts_at_once() -> None:
    """Locally: one pass per invocation, at its start."""
    assert pass_offsets(1) == [0.0]


def test_a_run_without_passes_is_refused() -> None:
    """Zero passes would never close anything: ValueError."""
    with pytest.raises(ValueError, match="at least one"):
        pass_offsets(0)


def test_a_scheduled_step_invokes_with_the_schedules_input_and_returns_its_interval() -> None:
    """Each step is one invocation with the deployed schedule's input; the pause is the interval."""
    calls: list[dict[str, Any]] = []
    schedule = ScheduledInvocation(calls.append, interval=7.5)
    assert (schedule.step(), schedule.step()) == (7.5, 7.5)
    assert calls == [dict(SWEEPER_INPUT), dict(SWEEPER_INPUT)]
