"""Which failed records are shown again sooner, and after how long. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from healthcoach_realtime.dispatch.redelivery import RETRY_DELAYS_SECONDS, Hastened, retry_delay, to_hasten

ARN = "arn:aws:sqs:us-east-1:123456789012:healthcoach-realtime-dispatch.fifo"


def record(message_id: str, receives: str = "1", **overrides: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "eventSourceARN": ARN,
        "attributes": {"ApproximateReceiveCount": receives},
        **overrides,
    }


def failures(*ids: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}


@pytest.mark.parametrize(("receives", "delay"), [(0, 5), (1, 5), (2, 20), (3, 60), (9, 60)])
def test_the_delay_grows_with_the_receive_count(receives: int, delay: int) -> None:
    assert retry_delay(receives, longest=600) == delay


def test_the_delay_is_never_longer_than_allowed() -> None:
    """A local stack receives with a 1-5 s visibility timeout: hastening must not lengthen it."""
    assert [retry_delay(n, longest=1) for n in (1, 2, 3)] == [1, 1, 1]
    assert max(RETRY_DELAYS_SECONDS) <= 60  # well inside the deployed 180 s visibility timeout


def test_only_the_failed_records_are_hastened_with_their_own_delays() -> None:
    event = {"Records": [record("1"), record("2", receives="2"), record("3")]}
    assert to_hasten(event, failures("2", "3"), longest=60) == [
        Hastened(ARN, "2", "rh-2", 20),
        Hastened(ARN, "3", "rh-3", 5),
    ]


def test_nothing_failed_nothing_hastened() -> None:
    assert to_hasten({"Records": [record("1")]}, failures(), longest=60) == []


@pytest.mark.parametrize(
    "odd",
    [
        {"eventSourceARN": None},
        {"eventSourceARN": ""},
        {"receiptHandle": None},
    ],
)
def test_a_record_sqs_cannot_be_asked_about_is_left_to_the_timeout(odd: dict[str, Any]) -> None:
    assert to_hasten({"Records": [record("1", **odd)]}, failures("1"), longest=60) == []


def test_an_unreadable_receive_count_counts_as_the_first() -> None:
    event = {"Records": [record("1", receives="many"), record("2", attributes=None)]}
    assert [h.delay_seconds for h in to_hasten(event, failures("1", "2"), longest=60)] == [5, 5]
