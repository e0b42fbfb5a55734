"""Stream bridge: DynamoDB Streams records of the data tables -> domain events on the bus.

Loaded by file path (the Lambda bundle root, or the local stack via importlib), so it imports
only the package. The event source mapping must enable ``ReportBatchItemFailures``: the
response names the sequence number Lambda retries from. Environment: ``EVENT_BUS_NAME``,
``DEAD_LETTER_QUEUE_URL``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.clients import events_client, sqs_client
from healthcoach_realtime.dead_letters import DeadLetterQueue
from healthcoach_realtime.observability import logger, metrics
from healthcoach_realtime.settings import get_settings
from healthcoach_realtime.stream_bridge import bridge_stream_batch

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@cache
def dead_letters() -> DeadLetterQueue:
    """Where unusable records are parked; fails fast, naming the setting, when it is missing."""
    settings = get_settings()
    settings.require("dead_letter_queue_url")
    return DeadLetterQueue(sqs_client(), settings.dead_letter_queue_url, origin="stream-bridge")


# The records carry health data: never log them (log_event stays False).
@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Bridge one batch of stream records; returns ``{"batchItemFailures": [...]}``."""
    return bridge_stream_batch(
        event, client=events_client(), bus_name=get_settings().event_bus_name, dead_letters=dead_letters()
    )
