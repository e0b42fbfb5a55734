"""Names and shapes of the AWS resources, shared by the CDK app and the local stack.

One source of truth: the local stack creates exactly what ``infra/`` deploys, so a test that
passes locally exercises the same table keys, subscriber filters, message groups and queue
settings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from healthcoach_realtime.catalogue import EVENT_TYPES, SOURCES

__all__ = [
    "BUS_RETENTION_DAYS",
    "CONNECTIONS_GSI",
    "DATA_TABLES",
    "DELIVERY_DLQ",
    "DISPATCH_DLQ",
    "DISPATCH_QUEUE",
    "HISTORY_BY_SEQ_INDEX",
    "MAX_RECEIVE_COUNT",
    "REJECTED_DLQ",
    "REJECTED_QUEUE",
    "SUBSCRIBERS",
    "DataTable",
    "SubscriberSpec",
    "dispatch_filter",
    "rejected_filter",
    "staged_queue_name",
]

CONNECTIONS_GSI = "GSI1"
# The history table's local index: a user's kept events in seq order (history.keys).
HISTORY_BY_SEQ_INDEX = "bySeq"
# FIFO, one message group per user: a user's events keep the bus's order through the queue.
DISPATCH_QUEUE = "healthcoach-realtime-dispatch.fifo"
DISPATCH_DLQ = "healthcoach-realtime-dispatch-dlq.fifo"
# What the FIFO subscriber could not deliver to the dispatch queue after its retries (ids only:
# EventBridge's failure records carry no payload; redrive from the bus's retention).
DELIVERY_DLQ = "healthcoach-realtime-delivery-dlq.fifo"
# healthcoach.* events that match no schema (unknown type, wrong source): kept, counted, alarmed.
REJECTED_QUEUE = "healthcoach-realtime-rejected"
REJECTED_DLQ = "healthcoach-realtime-rejected-dlq"
# Deliveries tried this many times before SQS moves the message to the DLQ.
MAX_RECEIVE_COUNT = 3
# Must exceed the dispatcher's timeout (SQS event source requirement: >= 6x is AWS's advice).
DISPATCH_VISIBILITY_TIMEOUT_SECONDS = 180
# How long the bus keeps events (1-365 days): long enough to redrive after a weekend's outage.
BUS_RETENTION_DAYS = 7
# The dispatch queue's message group: the event's group (the user, set by every producer of
# this package), else ``detail.userId``, so an entry published without a group is still delivered.
DISPATCH_MESSAGE_GROUP_ID = (
    "{% $exists($events.SystemMetadata.EventGroupId) ? $events.SystemMetadata.EventGroupId"
    " : $events.Data.detail.userId %}"
)
# The bus's own id for the event: a repeated delivery of one event is dropped by SQS (5 min).
EVENT_ID_EXPRESSION = '{% $events.SystemMetadata."aws:EventId" %}'


@dataclass(frozen=True)
class DataTable:
    """A business data table whose DynamoDB stream the stream bridge turns into domain events.

    ``record`` is the event family, the event types' prefix (``foodLog`` -> ``foodLogCreated``
    ...). ``user_attribute`` holds the user id; ``id_attribute`` the item id, which becomes
    ``data.id`` (empty for a one-item-per-user table, like the health profile). ``renames``
    maps the table's attribute names to the schema's, e.g. ``(("kcal", "calories"),)``: an
    existing app's table is described here rather than reshaped (``table_mapping`` reads it
    from the deploy configuration).
    """

    name: str
    record: str
    user_attribute: str = "userId"
    id_attribute: str = "id"
    renames: tuple[tuple[str, str], ...] = ()


# The tables' shapes when the deploy configuration gives a stream ARN and nothing else.
DATA_TABLES: tuple[DataTable, ...] = (
    DataTable(name="healthcoach_food_logs", record="foodLog"),
    DataTable(name="healthcoach_exercise_logs", record="exerciseLog"),
    DataTable(name="healthcoach_health_metrics", record="healthMetric"),
    DataTable(name="healthcoach_health_profile", record="healthProfile", id_attribute=""),
)


def dispatch_filter() -> dict[str, Any]:
    """Every event of the catalogue (generated from ``schemas/``): what the dispatcher is fed."""
    return {
        "source": sorted(SOURCES.values()),
        "detail-type": sorted(EVENT_TYPES),
    }


def rejected_filter() -> dict[str, Any]:
    """``healthcoach.*`` events that ``dispatch_filter`` does not take: an unknown type or source."""
    return {
        "source": [{"prefix": "healthcoach."}],
        "$or": [
            {"source": [{"anything-but": sorted(SOURCES.values())}]},
            {"detail-type": [{"anything-but": sorted(EVENT_TYPES)}]},
        ],
    }


@dataclass(frozen=True)
class SubscriberSpec:
    """One EventsV2 subscriber from the bus to an SQS queue, as deployed and as run locally.

    ``message_group_id`` and ``deduplication_id`` are the ``SqsParameters`` (JSONata ``{% %}``
    expressions, or None for a standard queue). ``on_failure_queue`` takes what is still
    undelivered after ``max_retry_attempts`` or ``max_event_age_seconds``.
    """

    name: str
    type: Literal["FIFO", "UNORDERED"]
    filter_pattern: dict[str, Any]
    target_queue: str
    on_failure_queue: str
    message_group_id: str | None = None
    deduplication_id: str | None = None
    max_retry_attempts: int = 5
    max_event_age_seconds: int = 300
    description: str = ""

    @property
    def filter_json(self) -> str:
        """The DATA-scope filter as the API takes it (compact JSON, at most 4,096 bytes)."""
        return json.dumps(self.filter_pattern, separators=(",", ":"), sort_keys=True)

    def generation(self) -> str:
        """A short digest of the create-only properties (type, target): a change of either makes
        a subscriber with a new name, created before the old one is deleted (no gap in delivery).
        """
        digest = hashlib.sha256(f"{self.type}|{self.target_queue}".encode()).hexdigest()
        return digest[:8]


SUBSCRIBERS: tuple[SubscriberSpec, ...] = (
    SubscriberSpec(
        name="healthcoach-realtime-dispatch",
        type="FIFO",
        filter_pattern=dispatch_filter(),
        target_queue=DISPATCH_QUEUE,
        on_failure_queue=DELIVERY_DLQ,
        message_group_id=DISPATCH_MESSAGE_GROUP_ID,
        deduplication_id=EVENT_ID_EXPRESSION,
        description="Catalogue events to the dispatch queue, one message group per user, in order",
    ),
    SubscriberSpec(
        name="healthcoach-realtime-rejected",
        type="UNORDERED",
        filter_pattern=rejected_filter(),
        target_queue=REJECTED_QUEUE,
        on_failure_queue=REJECTED_DLQ,
        description="healthcoach.* events that match no schema: kept, counted and alarmed",
    ),
)


def staged_queue_name(name: str, stage: str) -> str:
    """``name`` for one deployment stage (``x.fifo`` -> ``x-prod.fifo``: FIFO names end so)."""
    base, fifo, _ = name.partition(".fifo")
    return f"{base}-{stage}{fifo}"
