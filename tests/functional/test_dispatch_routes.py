"""The dispatch rules against moto's EventBridge -> SQS FIFO: each event once, in its user's group.

moto matches the real patterns (numeric, exists, anything-but, nested $or) and passes the
rule target's MessageGroupId to the FIFO queue, as EventBridge does.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from tests.support.sqs_events import receive_messages

from healthcoach_realtime import emit_many
from healthcoach_realtime.local.provision import EventPipeline, create_event_pipeline
from healthcoach_realtime.resources import dispatch_shard_of

REGION = "us-east-1"


@pytest.fixture
def clients(aws_env: str) -> tuple[Any, Any]:
    return (
        boto3.client("events", endpoint_url=aws_env, region_name=REGION),
        boto3.client("sqs", endpoint_url=aws_env, region_name=REGION),
    )


@pytest.fixture
def pipeline(clients: tuple[Any, Any]) -> EventPipeline:
    return create_event_pipeline(*clients, f"bus-{uuid.uuid4().hex[:8]}")


def test_emitted_events_arrive_once_in_their_users_group_in_order(
    clients: tuple[Any, Any], pipeline: EventPipeline
) -> None:
    """One user's 12 events: 12 messages, all in group shard-NN of that user, in emitted order."""
    events, sqs = clients
    user = f"user-{uuid.uuid4().hex[:8]}"
    batch = [(user, "foodLogDeleted", {"id": f"f{n}"}) for n in range(12)]
    emit_many(batch, client=events, bus_name=pipeline.bus_name)
    messages = receive_messages(sqs, pipeline.queue_url, user, 13, timeout=3)
    groups = {m["Attributes"]["MessageGroupId"] for m in messages}
    order = [json.loads(m["Body"])["detail"]["data"]["id"] for m in messages]
    assert (groups, order) == ({f"shard-{dispatch_shard_of(user):02d}"}, [f"f{n}" for n in range(12)])


@pytest.mark.parametrize("shard", [None, 99, "3"], ids=["missing", "out-of-range", "not-a-number"])
def test_an_event_without_a_valid_shard_is_caught_by_the_unsharded_rule(
    clients: tuple[Any, Any], pipeline: EventPipeline, shard: Any
) -> None:
    """Put on the bus by something other than emit(): still delivered, once, group unsharded."""
    events, sqs = clients
    user = f"user-{uuid.uuid4().hex[:8]}"
    detail: dict[str, Any] = {"userId": user, "data": {"id": "f1"}}
    if shard is not None:
        detail["shard"] = shard
    entry = {
        "Source": "healthcoach.food-logs",
        "DetailType": "foodLogDeleted",
        "Detail": json.dumps(detail),
        "EventBusName": pipeline.bus_name,
    }
    events.put_events(Entries=[entry])
    messages = receive_messages(sqs, pipeline.queue_url, user, 2, timeout=3)
    assert [m["Attributes"]["MessageGroupId"] for m in messages] == ["unsharded"]
