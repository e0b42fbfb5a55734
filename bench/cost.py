"""AWS cost per million events, from counted calls and list prices. Pure.

Published prices: us-east-1 list prices from the AWS pricing pages (DynamoDB on-demand as cut on
2024-11-01; API Gateway WebSocket, SQS and Lambda unchanged since), as known on 2025-01. Not
re-checked since: confirm at aws.amazon.com/<service>/pricing before relying on them.

Assumed prices: the Custom Event Bus (EventsV2) bills ingestion and delivery per KB (each event
rounded up to a whole KB), retention per GB-month, and "enriched operations" (JSONata, content-based
deduplication) per operation, but its rates are not published. Each is a named ``ASSUMED_`` constant,
set from a published classic EventBridge price and saying which; the ``PRICES`` keys of these start
with ``assumed_`` so every report shows which numbers are guesses.

Free tiers and volume discounts are ignored; Lambda compute (GB-seconds) is not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from healthcoach_realtime.resources import BUS_RETENTION_DAYS

__all__ = [
    "APIGW_MESSAGE_PER_MILLION",
    "ASSUMED_EVENTSV2_DELIVERY_PER_MILLION_KB",
    "ASSUMED_EVENTSV2_ENRICHED_OPERATION_PER_MILLION",
    "ASSUMED_EVENTSV2_INGESTION_PER_MILLION_KB",
    "ASSUMED_EVENTSV2_RETENTION_PER_GB_MONTH",
    "ASSUMED_PRICES",
    "CLASSIC_EVENTBRIDGE_EVENT_PER_MILLION",
    "DYNAMODB_READ_UNIT_PER_MILLION",
    "DYNAMODB_WRITE_UNIT_PER_MILLION",
    "ENRICHED_OPERATIONS_PER_EVENT",
    "LAMBDA_REQUEST_PER_MILLION",
    "PRICES",
    "PRICES_AS_OF",
    "PUBLISHED_PRICES",
    "SQS_REQUEST_PER_MILLION",
    "TYPICAL_EVENT_KB",
    "cost_per_million_events",
]

PRICES_AS_OF = (
    "2025-01 (AWS public pricing pages, us-east-1); the Custom Event Bus's rates are not published: "
    "prices named assumed_* are assumptions, each equal to a published classic EventBridge price"
)

# Published.
DYNAMODB_READ_UNIT_PER_MILLION = 0.125  # on-demand read request units
DYNAMODB_WRITE_UNIT_PER_MILLION = 0.625  # on-demand write request units
APIGW_MESSAGE_PER_MILLION = 1.00  # WebSocket messages (first billion, 32 KB each), PostToConnection incl.
SQS_REQUEST_PER_MILLION = 0.50  # FIFO queue requests (64 KB each; standard queues: 0.40)
LAMBDA_REQUEST_PER_MILLION = 0.20  # invocations
# Classic EventBridge: custom events published, per 64 KB chunk. The basis of the assumptions below.
CLASSIC_EVENTBRIDGE_EVENT_PER_MILLION = 1.00
# Classic EventBridge archives: storage per GB-month.
_CLASSIC_ARCHIVE_PER_GB_MONTH = 0.10

# Assumed (EventsV2 rates are not published).
# Classic's $1.00 per million events, applied per KB: a 1 KB event costs what it does on classic,
# a larger one more (cautious: classic charges one unit up to 64 KB).
ASSUMED_EVENTSV2_INGESTION_PER_MILLION_KB = CLASSIC_EVENTBRIDGE_EVENT_PER_MILLION
# Classic charges nothing to deliver to an SQS target; assumed equal to ingestion (cautious).
ASSUMED_EVENTSV2_DELIVERY_PER_MILLION_KB = ASSUMED_EVENTSV2_INGESTION_PER_MILLION_KB
# Classic's archive storage price.
ASSUMED_EVENTSV2_RETENTION_PER_GB_MONTH = _CLASSIC_ARCHIVE_PER_GB_MONTH
# Classic's price per event, per JSONata evaluation (classic input transformers are free).
ASSUMED_EVENTSV2_ENRICHED_OPERATION_PER_MILLION = CLASSIC_EVENTBRIDGE_EVENT_PER_MILLION

PUBLISHED_PRICES = {
    "dynamodb_read_unit_per_million": DYNAMODB_READ_UNIT_PER_MILLION,
    "dynamodb_write_unit_per_million": DYNAMODB_WRITE_UNIT_PER_MILLION,
    "apigw_websocket_message_per_million": APIGW_MESSAGE_PER_MILLION,
    "sqs_fifo_request_per_million": SQS_REQUEST_PER_MILLION,
    "lambda_request_per_million": LAMBDA_REQUEST_PER_MILLION,
}
ASSUMED_PRICES = {
    "assumed_eventsv2_ingestion_per_million_kb": ASSUMED_EVENTSV2_INGESTION_PER_MILLION_KB,
    "assumed_eventsv2_delivery_per_million_kb": ASSUMED_EVENTSV2_DELIVERY_PER_MILLION_KB,
    "assumed_eventsv2_retention_per_gb_month": ASSUMED_EVENTSV2_RETENTION_PER_GB_MONTH,
    "assumed_eventsv2_enriched_operation_per_million": ASSUMED_EVENTSV2_ENRICHED_OPERATION_PER_MILLION,
}
PRICES = {**PUBLISHED_PRICES, **ASSUMED_PRICES}

# A catalogue event on the bus (envelope and detail) is well under 1 KB: billed as one.
TYPICAL_EVENT_KB = 1.0
# The FIFO subscriber evaluates JSONata for each delivery (its MessageGroupId and
# MessageDeduplicationId): counted as one enriched operation (assumed; how they are counted is
# not published either). Producers set DeduplicationId themselves: no content-based dedup.
ENRICHED_OPERATIONS_PER_EVENT = 1
# Our pipeline: per event, the subscriber's SendMessage to the queue; per SQS batch, one receive
# and one delete by the event source mapping, and one invocation.
_SQS_REQUESTS_PER_EVENT = 1
_SQS_REQUESTS_PER_BATCH = 2
_KB_PER_GB = 1024 * 1024
_HOURS_PER_MONTH = 730  # AWS bills storage per GB-month of 730 hours


def _eventsv2_per_million(event_kb: float, retention_days: int) -> float:
    """Dollars per million events on the bus: ingestion, one delivery, retention, enriched operations."""
    billed_kb = max(1, math.ceil(event_kb))
    gb_months = 1_000_000 * event_kb / _KB_PER_GB * retention_days * 24 / _HOURS_PER_MONTH
    return (
        billed_kb * ASSUMED_EVENTSV2_INGESTION_PER_MILLION_KB
        + billed_kb * ASSUMED_EVENTSV2_DELIVERY_PER_MILLION_KB
        + gb_months * ASSUMED_EVENTSV2_RETENTION_PER_GB_MONTH
        + ENRICHED_OPERATIONS_PER_EVENT * ASSUMED_EVENTSV2_ENRICHED_OPERATION_PER_MILLION
    )


def cost_per_million_events(
    per_event: Mapping[str, float],
    *,
    pipeline: bool,
    events_per_batch: int = 10,
    event_kb: float = TYPICAL_EVENT_KB,
    retention_days: int = BUS_RETENTION_DAYS,
) -> dict[str, float]:
    """Dollars per million events by item, and ``total``.

    ``per_event`` holds ``read_units_per_event``, ``write_units_per_event`` and
    ``posts_per_event`` (as counted). ``pipeline`` adds what our event path costs and the
    baseline does not: the bus (``eventsv2``: per KB ingested and delivered, kept
    ``retention_days``, the subscriber's JSONata), SQS requests, and a dispatcher invocation per
    batch; ``pipeline`` is their sum.
    """
    cost = {
        "dynamodb": per_event["read_units_per_event"] * DYNAMODB_READ_UNIT_PER_MILLION
        + per_event["write_units_per_event"] * DYNAMODB_WRITE_UNIT_PER_MILLION,
        "websocket_messages": per_event["posts_per_event"] * APIGW_MESSAGE_PER_MILLION,
        "eventsv2": 0.0,
        "sqs": 0.0,
        "lambda": 0.0,
    }
    if pipeline:
        cost["eventsv2"] = _eventsv2_per_million(event_kb, retention_days)
        cost["sqs"] = (
            _SQS_REQUESTS_PER_EVENT + _SQS_REQUESTS_PER_BATCH / events_per_batch
        ) * SQS_REQUEST_PER_MILLION
        cost["lambda"] = LAMBDA_REQUEST_PER_MILLION / events_per_batch
    cost["pipeline"] = cost["eventsv2"] + cost["sqs"] + cost["lambda"]
    cost["total"] = cost["dynamodb"] + cost["websocket_messages"] + cost["pipeline"]
    return cost
