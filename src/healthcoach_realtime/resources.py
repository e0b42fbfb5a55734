"""Names and shapes of the AWS resources, shared by the CDK app and the local stack.

One source of truth: the local stack creates exactly what ``infra/`` deploys, so a test that
passes locally exercises the same table keys, rule pattern and queue settings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from healthcoach_realtime.catalogue import EVENT_TYPES, SOURCES

__all__ = [
    "CONNECTIONS_GSI",
    "DATA_TABLES",
    "DISPATCH_DLQ",
    "DISPATCH_QUEUE",
    "DISPATCH_SHARDS",
    "HISTORY_BY_SEQ_INDEX",
    "MAX_RECEIVE_COUNT",
    "DataTable",
    "DispatchRoute",
    "dispatch_routes",
    "dispatch_rule_pattern",
    "dispatch_shard_of",
    "staged_queue_name",
]

CONNECTIONS_GSI = "GSI1"
# The history table's local index: a user's kept events in seq order (history.keys).
HISTORY_BY_SEQ_INDEX = "bySeq"
# FIFO: a user's events keep their order through the queue (see ``dispatch_routes``).
DISPATCH_QUEUE = "healthcoach-realtime-dispatch.fifo"
DISPATCH_DLQ = "healthcoach-realtime-dispatch-dlq.fifo"
DISPATCH_RULE = "healthcoach-realtime-dispatch"
# Message groups of the dispatch queue that users are spread over (by a hash of their id):
# one group's batches are dispatched one at a time, in order; groups run concurrently.
DISPATCH_SHARDS = 16
# Deliveries tried this many times before SQS moves the message to the DLQ.
MAX_RECEIVE_COUNT = 3
# Must exceed the dispatcher's timeout (SQS event source requirement: >= 6x is AWS's advice).
DISPATCH_VISIBILITY_TIMEOUT_SECONDS = 180


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
    """Every event of the catalogue (generated from it): what the dispatch rules match together."""
    return {
        "source": sorted(SOURCES.values()),
        "detail-type": sorted(EVENT_TYPES),
    }


def dispatch_shard_of(user_id: str) -> int:
    """The user's shard (``detail.shard``, set by ``emit``): stable, evenly spread."""
    return int.from_bytes(hashlib.sha256(user_id.encode()).digest()[:4], "big") % DISPATCH_SHARDS


@dataclass(frozen=True)
class DispatchRoute:
    """One EventBridge rule to the dispatch queue, with the message group its events go to.

    EventBridge gives a FIFO target one fixed group per rule, so each shard has its own rule;
    a last rule catches events put on the bus without a valid shard (not through ``emit``).
    """

    name: str  # the rule name's suffix and the message group id
    pattern: dict[str, Any]


def dispatch_routes() -> tuple[DispatchRoute, ...]:
    """One route per shard plus ``unsharded``: together they match each catalogue event once."""
    base = dispatch_rule_pattern()
    shards = list(range(DISPATCH_SHARDS))
    routes = [DispatchRoute(f"shard-{n:02d}", {**base, "detail": {"shard": [n]}}) for n in shards]
    missing_or_invalid = [{"shard": [{"exists": False}]}, {"shard": [{"anything-but": shards}]}]
    unsharded = {**base, "detail": {"$or": missing_or_invalid}}
    return (*routes, DispatchRoute("unsharded", unsharded))


def staged_queue_name(name: str, stage: str) -> str:
    """``name`` for one deployment stage (``x.fifo`` -> ``x-prod.fifo``: FIFO names end so)."""
    base, fifo, _ = name.partition(".fifo")
    return f"{base}-{stage}{fifo}"
