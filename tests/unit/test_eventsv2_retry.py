"""The delivery engine's pure parts: the retry decision and the fault plan."""

from __future__ import annotations

from typing import Any

import pytest

from healthcoach_realtime.local.eventsv2.delivery import retry_delay
from healthcoach_realtime.local.eventsv2.exceptions import DeliveryError
from healthcoach_realtime.local.eventsv2.faults import FaultPlan
from healthcoach_realtime.local.eventsv2.options import EventsV2Options
from healthcoach_realtime.local.eventsv2.subscribers import compile_config

OPTIONS = EventsV2Options(retry_base_seconds=0.05, retry_max_seconds=1.0)


def _config(retries: int, max_age: int = 300) -> Any:
    return compile_config(
        {
            "InvokeConfiguration": {
                "RoleArn": "arn:aws:iam::123456789012:role/r",
                "TargetArn": "arn:aws:sqs:us-east-1:123456789012:q",
            },
            "RetryPolicy": {"MaxRetryAttempts": retries, "MaxEventAgeInSeconds": max_age},
        }
    )


def test_backoff_doubles_from_the_base_and_is_capped() -> None:
    """0.05, 0.1, 0.2, ... then the 1 s cap."""
    delays = [retry_delay(attempts, 0.0, _config(185), OPTIONS) for attempts in range(1, 8)]

    assert delays == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_retries_stop_after_max_retry_attempts() -> None:
    """With 2 retries allowed, the third failed attempt is final; with 0, the first is."""
    assert retry_delay(2, 0.0, _config(2), OPTIONS) is not None
    assert retry_delay(3, 0.0, _config(2), OPTIONS) is None
    assert retry_delay(1, 0.0, _config(0), OPTIONS) is None


def test_retries_stop_when_the_event_is_too_old() -> None:
    """An event as old as MaxEventAgeInSeconds is not retried, whatever retries are left."""
    assert retry_delay(1, 59.9, _config(185, max_age=60), OPTIONS) is not None
    assert retry_delay(1, 60.0, _config(185, max_age=60), OPTIONS) is None


def test_a_fault_fails_only_matching_deliveries_and_only_n_times() -> None:
    """``fail_next(times=2)`` fails the next two matching attempts; others and later ones pass."""
    faults = FaultPlan()
    fault = faults.fail_next(lambda event: event["group"] == "a", times=2, code="Throttled")
    a, b = {"group": "a"}, {"group": "b"}

    faults.raise_if_armed("sub", b)
    for _ in range(2):
        with pytest.raises(DeliveryError, match="Throttled"):
            faults.raise_if_armed("sub", a)
    faults.raise_if_armed("sub", a)

    assert (fault.fired, fault.active) == (2, False)


def test_an_open_ended_fault_fails_until_cancelled_and_can_target_one_subscriber() -> None:
    """``times=None`` fails until ``cancel()``; ``subscriber_arn`` limits it to that subscriber."""
    faults = FaultPlan()
    fault = faults.fail_next(lambda event: True, times=None, subscriber_arn="sub-1")

    faults.raise_if_armed("sub-2", {})
    for _ in range(5):
        with pytest.raises(DeliveryError):
            faults.raise_if_armed("sub-1", {})
    fault.cancel()
    faults.raise_if_armed("sub-1", {})

    assert fault.fired == 5
