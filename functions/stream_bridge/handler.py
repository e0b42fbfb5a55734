"""Stream bridge: DynamoDB Streams records of the data tables -> domain events on the bus.

Loaded by file path (the Lambda bundle root, or the local stack via importlib), so it imports only
the package. The event source mapping must enable ``ReportBatchItemFailures``: the response names
the sequence number Lambda retries from. Its settings are its entry in ``manifest.py``, checked at
cold start: ``EVENT_BUS_ARN`` (or ``EVENT_BUS_NAME``, looked up once), ``DEAD_LETTER_QUEUE_URL``,
and ``DATA_TABLE_MAPPINGS`` (which tables, and how their items map to events; unset: our own tables
as they are), read at start-up so that a malformed mapping fails the cold start by name, not every
batch.

The bus speaks ``eventbridgev2``, which a Lambda runtime's own boto3 may predate: the client is
built at start-up, so an old botocore fails the cold start with a clear message instead of the
first batch.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.clients import eventbridge_client, sqs_client
from healthcoach_realtime.dead_letters import DeadLetterQueue
from healthcoach_realtime.emitter import resolve_bus_arn
from healthcoach_realtime.manifest import check_cold_start
from healthcoach_realtime.observability import logger, metrics
from healthcoach_realtime.settings import get_settings
from healthcoach_realtime.stream_bridge import bridge_stream_batch
from healthcoach_realtime.table_mapping import MAPPING_ENV, decode_tables

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

check_cold_start("stream_bridge")

# Fails the cold start, naming the version, when botocore has no eventbridgev2.
_BUS_CLIENT = eventbridge_client()
_TABLES = decode_tables(os.environ.get(MAPPING_ENV))


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
        event,
        client=_BUS_CLIENT,
        bus_arn=resolve_bus_arn(_BUS_CLIENT),
        dead_letters=dead_letters(),
        tables=_TABLES,
    )
