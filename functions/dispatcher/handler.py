"""Dispatcher: SQS batches of domain events -> every open WebSocket of each event's user.

Loaded by file path (the Lambda bundle root, or the local stack via importlib), so it imports
only the package. The event source mapping must enable ``ReportBatchItemFailures``: the
response names the records SQS has to redeliver. Its settings are its entry in
``manifest.py``, checked at cold start.
"""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.clients import dynamodb_client, management_api_client, sqs_client
from healthcoach_realtime.connections import ConnectionStore
from healthcoach_realtime.dead_letters import DeadLetterQueue
from healthcoach_realtime.dispatch.batch import dispatch_batch
from healthcoach_realtime.dispatch.redelivery import QueueUrls, hasten_redelivery, to_hasten
from healthcoach_realtime.history.store import HistoryStore
from healthcoach_realtime.manifest import check_cold_start
from healthcoach_realtime.observability import logger, metrics
from healthcoach_realtime.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

check_cold_start("dispatcher")

# Kept free at the end of an invocation to dead-letter, remove gone connections and answer.
REPORT_SECONDS = 1.0
# Hasten redelivery only with this much time left: a slow SQS must not time out the answer.
HASTEN_MIN_MS = 500


@cache
def store() -> ConnectionStore:
    """The connections table through the process's cached DynamoDB client."""
    return ConnectionStore(dynamodb_client(), get_settings().connections_table)


@cache
def history() -> HistoryStore:
    """The per-user seq counter and replay log."""
    settings = get_settings()
    return HistoryStore(dynamodb_client(), settings.history_table, ttl_seconds=settings.history_ttl_seconds)


@cache
def dead_letters() -> DeadLetterQueue:
    """Where invalid events are parked; fails fast, naming the setting, when it is missing."""
    settings = get_settings()
    settings.require("dead_letter_queue_url")
    return DeadLetterQueue(sqs_client(), settings.dead_letter_queue_url, origin="dispatcher")


@cache
def queue_urls() -> QueueUrls:
    """The dispatch queue's URL by ARN, asked of SQS once per process."""
    return QueueUrls(sqs_client())


# The event carries health data: never log it (log_event stays False).
@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Deliver one SQS batch; returns ``{"batchItemFailures": [...]}``."""
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - REPORT_SECONDS
    response = dispatch_batch(
        event,
        store=store(),
        management=management_api_client(),
        dead_letters=dead_letters(),
        history=history(),
        deadline=deadline,
        connecting_grace=get_settings().connecting_grace_seconds,
    )
    failed = to_hasten(event, response, longest=get_settings().redelivery_delay_max_seconds)
    if failed and context.get_remaining_time_in_millis() > HASTEN_MIN_MS:
        hasten_redelivery(sqs_client(), queue_urls(), failed)
    return response
