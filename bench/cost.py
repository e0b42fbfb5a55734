"""AWS cost per million events, from counted calls and public list prices. Pure.

Prices: us-east-1 list prices from the AWS pricing pages (DynamoDB on-demand as cut on
2024-11-01; API Gateway WebSocket, EventBridge, SQS and Lambda unchanged since), as known on
2025-01. Not re-checked since: confirm at aws.amazon.com/<service>/pricing before relying on them.
Free tiers and volume discounts are ignored; Lambda compute (GB-seconds) is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "APIGW_MESSAGE_PER_MILLION",
    "DYNAMODB_READ_UNIT_PER_MILLION",
    "DYNAMODB_WRITE_UNIT_PER_MILLION",
    "EVENTBRIDGE_EVENT_PER_MILLION",
    "LAMBDA_REQUEST_PER_MILLION",
    "PRICES",
    "PRICES_AS_OF",
    "SQS_REQUEST_PER_MILLION",
    "cost_per_million_events",
]

PRICES_AS_OF = "2025-01 (AWS public pricing pages, us-east-1)"
DYNAMODB_READ_UNIT_PER_MILLION = 0.125  # on-demand read request units
DYNAMODB_WRITE_UNIT_PER_MILLION = 0.625  # on-demand write request units
APIGW_MESSAGE_PER_MILLION = 1.00  # WebSocket messages (first billion, 32 KB each), PostToConnection incl.
EVENTBRIDGE_EVENT_PER_MILLION = 1.00  # custom events published (64 KB each)
SQS_REQUEST_PER_MILLION = 0.50  # FIFO queue requests (64 KB each; standard queues: 0.40)
LAMBDA_REQUEST_PER_MILLION = 0.20  # invocations
PRICES = {
    "dynamodb_read_unit_per_million": DYNAMODB_READ_UNIT_PER_MILLION,
    "dynamodb_write_unit_per_million": DYNAMODB_WRITE_UNIT_PER_MILLION,
    "apigw_websocket_message_per_million": APIGW_MESSAGE_PER_MILLION,
    "eventbridge_event_per_million": EVENTBRIDGE_EVENT_PER_MILLION,
    "sqs_request_per_million": SQS_REQUEST_PER_MILLION,
    "lambda_request_per_million": LAMBDA_REQUEST_PER_MILLION,
}
# Our pipeline: per event, EventBridge's SendMessage to the queue; per SQS batch, one receive and
# one delete by the event source mapping, and one invocation.
_SQS_REQUESTS_PER_EVENT = 1
_SQS_REQUESTS_PER_BATCH = 2


def cost_per_million_events(
    per_event: Mapping[str, float], *, pipeline: bool, events_per_batch: int = 10
) -> dict[str, float]:
    """Dollars per million events by item, and ``total``.

    ``per_event`` holds ``read_units_per_event``, ``write_units_per_event`` and
    ``posts_per_event`` (as counted). ``pipeline`` adds what our event path costs and the
    baseline does not: one EventBridge event, SQS requests and a dispatcher invocation per batch.
    """
    cost = {
        "dynamodb": per_event["read_units_per_event"] * DYNAMODB_READ_UNIT_PER_MILLION
        + per_event["write_units_per_event"] * DYNAMODB_WRITE_UNIT_PER_MILLION,
        "websocket_messages": per_event["posts_per_event"] * APIGW_MESSAGE_PER_MILLION,
        "pipeline": 0.0,
    }
    if pipeline:
        cost["pipeline"] = (
            EVENTBRIDGE_EVENT_PER_MILLION
            + _SQS_REQUESTS_PER_EVENT * SQS_REQUEST_PER_MILLION
            + _SQS_REQUESTS_PER_BATCH * SQS_REQUEST_PER_MILLION / events_per_batch
            + LAMBDA_REQUEST_PER_MILLION / events_per_batch
        )
    cost["total"] = cost["dynamodb"] + cost["websocket_messages"] + cost["pipeline"]
    return cost
