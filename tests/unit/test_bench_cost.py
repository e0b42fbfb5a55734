"""bench.cost: dollars per million events from counted calls and the named prices. Pure."""

from __future__ import annotations

import pytest
from bench import cost

BASELINE_ONE_CONNECTION = {"read_units_per_event": 0.5, "write_units_per_event": 0.0, "posts_per_event": 1.0}


def test_baseline_pays_reads_and_messages_only() -> None:
    """Half a read unit and one message per event, no pipeline."""
    result = cost.cost_per_million_events(BASELINE_ONE_CONNECTION, pipeline=False)
    assert result["total"] == pytest.approx(
        0.5 * cost.DYNAMODB_READ_UNIT_PER_MILLION + cost.APIGW_MESSAGE_PER_MILLION
    )
    assert result["pipeline"] == 0.0


def test_pipeline_adds_eventbridge_sqs_and_invocations_per_batch() -> None:
    """Per event one EventBridge event and its SendMessage to the queue; per batch of 10 two SQS
    requests (receive, delete) and one invocation."""
    result = cost.cost_per_million_events(BASELINE_ONE_CONNECTION, pipeline=True, events_per_batch=10)
    expected = (
        cost.EVENTBRIDGE_EVENT_PER_MILLION
        + cost.SQS_REQUEST_PER_MILLION
        + 2 * cost.SQS_REQUEST_PER_MILLION / 10
        + cost.LAMBDA_REQUEST_PER_MILLION / 10
    )
    assert result["pipeline"] == pytest.approx(expected)


def test_messages_scale_with_connections() -> None:
    """Ten connections per user cost ten messages per event."""
    per_event = {**BASELINE_ONE_CONNECTION, "posts_per_event": 10.0}
    assert cost.cost_per_million_events(per_event, pipeline=False)["websocket_messages"] == pytest.approx(
        10 * cost.APIGW_MESSAGE_PER_MILLION
    )


def test_writes_are_priced_as_write_units() -> None:
    """Write units use the write price, not the read price."""
    per_event = {"read_units_per_event": 0.0, "write_units_per_event": 2.0, "posts_per_event": 0.0}
    assert cost.cost_per_million_events(per_event, pipeline=False)["dynamodb"] == pytest.approx(
        2 * cost.DYNAMODB_WRITE_UNIT_PER_MILLION
    )
