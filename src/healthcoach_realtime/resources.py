"""Names and shapes of the AWS resources, shared by the CDK app and the local stack.

One source of truth: the local stack creates exactly what ``infra/`` deploys, so a test that
passes locally exercises the same table keys, rule pattern and queue settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from healthcoach_realtime.catalogue import EVENT_TYPES, SOURCES

__all__ = [
    "CONNECTIONS_GSI",
    "DATA_TABLES",
    "DISPATCH_DLQ",
    "DISPATCH_QUEUE",
    "HISTORY_BY_SEQ_INDEX",
    "MAX_RECEIVE_COUNT",
    "DataTable",
    "dispatch_rule_pattern",
]

CONNECTIONS_GSI = "GSI1"
# The history table's local index: a user's kept events in seq order (history.keys).
HISTORY_BY_SEQ_INDEX = "bySeq"
DISPATCH_QUEUE = "healthcoach-realtime-dispatch"
DISPATCH_DLQ = "healthcoach-realtime-dispatch-dlq"
DISPATCH_RULE = "healthcoach-realtime-dispatch"
# Deliveries tried this many times before SQS moves the message to the DLQ.
MAX_RECEIVE_COUNT = 3
# Must exceed the dispatcher's timeout (SQS event source requirement: >= 6x is AWS's advice).
DISPATCH_VISIBILITY_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class DataTable:
    """A business data table whose DynamoDB stream the stream bridge turns into domain events.

    ``record`` is the event-type prefix (``foodLog`` -> ``foodLogCreated`` ...). A table with no
    sort key (``id_attribute`` empty) holds one item per user, like the health profile.
    """

    name: str
    record: str
    user_attribute: str = "userId"
    id_attribute: str = "id"


DATA_TABLES: tuple[DataTable, ...] = (
    DataTable(name="healthcoach_food_logs", record="foodLog"),
    DataTable(name="healthcoach_exercise_logs", record="exerciseLog"),
    DataTable(name="healthcoach_health_metrics", record="healthMetric"),
    DataTable(name="healthcoach_health_profile", record="healthProfile", id_attribute=""),
)


def dispatch_rule_pattern() -> dict[str, Any]:
    """The EventBridge pattern of the dispatch rule, generated from the catalogue."""
    return {
        "source": sorted(SOURCES.values()),
        "detail-type": sorted(EVENT_TYPES),
    }
