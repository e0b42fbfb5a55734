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
    assert (result["pipeline"], result["eventsv2"], result["sqs"], result["lambda"]) == (0.0, 0.0, 0.0, 0.0)


def test_pipeline_adds_the_bus_sqs_and_invocations_per_batch() -> None:
    """Per 1 KB event: one KB ingested and one delivered, a week of retention, one JSONata operation,
    the subscriber's SendMessage; per batch of 10 two SQS requests (receive, delete) and one invocation."""
    result = cost.cost_per_million_events(
        BASELINE_ONE_CONNECTION, pipeline=True, events_per_batch=10, event_kb=1.0, retention_days=7
    )
    retention = 1_000_000 / (1024 * 1024) * 7 * 24 / 730 * cost.ASSUMED_EVENTSV2_RETENTION_PER_GB_MONTH
    assert result["eventsv2"] == pytest.approx(
        cost.ASSUMED_EVENTSV2_INGESTION_PER_MILLION_KB
        + cost.ASSUMED_EVENTSV2_DELIVERY_PER_MILLION_KB
        + retention
        + cost.ASSUMED_EVENTSV2_ENRICHED_OPERATION_PER_MILLION
    )
    assert result["sqs"] == pytest.approx(
        cost.SQS_REQUEST_PER_MILLION + 2 * cost.SQS_REQUEST_PER_MILLION / 10
    )
    assert result["lambda"] == pytest.approx(cost.LAMBDA_REQUEST_PER_MILLION / 10)
    assert result["pipeline"] == pytest.approx(result["eventsv2"] + result["sqs"] + result["lambda"])
    assert result["total"] == pytest.approx(
        result["dynamodb"] + result["websocket_messages"] + result["pipeline"]
    )


def test_ingestion_and_delivery_are_billed_per_kb_rounded_up() -> None:
    """A 2.1 KB event costs three KB of ingestion and three of delivery; a 0.3 KB one, one of each."""

    def bus_without_retention(event_kb: float) -> float:
        return cost.cost_per_million_events(
            BASELINE_ONE_CONNECTION, pipeline=True, event_kb=event_kb, retention_days=0
        )["eventsv2"]

    per_kb = cost.ASSUMED_EVENTSV2_INGESTION_PER_MILLION_KB + cost.ASSUMED_EVENTSV2_DELIVERY_PER_MILLION_KB
    enriched = cost.ENRICHED_OPERATIONS_PER_EVENT * cost.ASSUMED_EVENTSV2_ENRICHED_OPERATION_PER_MILLION
    assert bus_without_retention(2.1) == pytest.approx(3 * per_kb + enriched)
    assert bus_without_retention(0.3) == pytest.approx(1 * per_kb + enriched)


def test_retention_grows_with_the_days_kept() -> None:
    """A year of retention costs 365/7 times a week's (per GB-month of stored events)."""

    def with_days(days: int) -> float:
        return cost.cost_per_million_events(BASELINE_ONE_CONNECTION, pipeline=True, retention_days=days)[
            "eventsv2"
        ]

    base = with_days(0)
    assert with_days(365) - base == pytest.approx((with_days(7) - base) * 365 / 7)
    assert with_days(7) > base


def test_prices_say_which_are_assumed() -> None:
    """Every EventsV2 price is named assumed_* (its rates are not published); the others are not."""
    assert cost.PRICES == {**cost.PUBLISHED_PRICES, **cost.ASSUMED_PRICES}
    assert all(key.startswith("assumed_eventsv2_") for key in cost.ASSUMED_PRICES)
    assert not any("assumed" in key or "eventsv2" in key for key in cost.PUBLISHED_PRICES)
    assert "assumed" in cost.PRICES_AS_OF


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
