"""Connections and SQS batches for the dispatcher benchmarks (shaped like real captures)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.catalogue import source_for
from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.local.samples import sample_data
from healthcoach_realtime.local.source_events import sqs_event, sqs_message

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["SQS_BATCH_SIZE", "Workload", "envelope", "sqs_batches"]

# The deployed event source mapping's batch size (infra/healthcoach_infra/event_pipeline.py).
SQS_BATCH_SIZE = 10
# The queue the batches say they come from (the dispatcher names it only to shorten a failed
# record's visibility).
DISPATCH_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:healthcoach-realtime-dispatch"


class Workload:
    """``users`` users with ``per_user`` open connections each, stored in ``table``."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, users: int, per_user: int) -> None:
        tag = uuid.uuid4().hex[:6]
        self.user_ids = [f"bench-{tag}-u{n}" for n in range(users)]
        self.per_user = per_user
        store = ConnectionStore(dynamodb, table)
        for user in self.user_ids:
            for connection_id in self.connection_ids(user):
                store.add(Connection(connection_id=connection_id, user_id=user))

    def connection_ids(self, user_id: str) -> list[str]:
        """The ids of ``user_id``'s open connections, as stored in the table."""
        return [f"{user_id}-c{n}" for n in range(self.per_user)]

    def events(self, count: int, *, burst: bool) -> list[dict[str, Any]]:
        """``count`` envelopes: all of the first user (a burst, e.g. a bulk import of food logs),
        or round-robin over the users (a uniform load)."""
        return [
            envelope(self.user_ids[0] if burst else self.user_ids[n % len(self.user_ids)])
            for n in range(count)
        ]


def envelope(user_id: str, event_type: str = "foodLogCreated") -> dict[str, Any]:
    """An EventBridge envelope as the dispatch rule delivers it to SQS."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": event_type,
        "source": source_for(event_type),
        "time": "2026-11-29T08:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"userId": user_id, "data": sample_data(event_type)},
    }


def sqs_batches(envelopes: list[dict[str, Any]], size: int = SQS_BATCH_SIZE) -> list[dict[str, Any]]:
    """The Lambda SQS events the dispatcher receives for these envelopes, ``size`` per batch."""
    messages = [
        sqs_message(json.dumps(e), receipt_handle="bench", attributes={"ApproximateReceiveCount": "1"})
        for e in envelopes
    ]
    return [
        sqs_event(messages[i : i + size], queue_arn=DISPATCH_QUEUE_ARN, region="us-east-1")
        for i in range(0, len(messages), size)
    ]
