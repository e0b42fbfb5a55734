"""The bus's subscribers (as ``resources.SUBSCRIBERS`` defines them) on the emulator's Custom Event
Bus -> SQS: a catalogue event reaches the dispatch queue once, in its user's message group, in
order; an entry without a group still arrives; a ``healthcoach.*`` event that matches no schema
goes to the rejected queue, never to the dispatcher, and holds nothing back.

Producers here talk to the bus with boto3's own ``eventbridgev2`` client, as a producer in any
language would (the envelope of DESIGN.md), not only through ``emit``.
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

REGION = "us-east-1"


@pytest.fixture
def clients(aws_env: str) -> tuple[Any, Any]:
    return (
        boto3.client("eventbridgev2", endpoint_url=aws_env, region_name=REGION),
        boto3.client("sqs", endpoint_url=aws_env, region_name=REGION),
    )


@pytest.fixture
def pipeline(clients: tuple[Any, Any]) -> EventPipeline:
    return create_event_pipeline(*clients, f"bus-{uuid.uuid4().hex[:8]}")


def entry(
    user: str,
    item: str,
    *,
    group: str | None = "user",
    source: str = "healthcoach.food-logs",
    detail_type: str = "foodLogDeleted",
) -> dict[str, Any]:
    """A PutEvents entry as DESIGN.md's envelope table describes it for producers."""
    result: dict[str, Any] = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps({"userId": user, "data": {"id": item}}),
    }
    if group is not None:
        result["SystemMetadata"] = {"EventGroupId": user if group == "user" else group}
    return result


def test_emitted_events_arrive_once_in_their_users_group_in_order(
    clients: tuple[Any, Any], pipeline: EventPipeline
) -> None:
    """One user's 12 events: 12 messages, all in the user's own group, in emitted order."""
    bus, sqs = clients
    user = f"user-{uuid.uuid4().hex[:8]}"
    emit_many(
        [(user, "foodLogDeleted", {"id": f"f{n}"}) for n in range(12)], client=bus, bus_arn=pipeline.bus_arn
    )
    messages = receive_messages(sqs, pipeline.queue_url, user, 12)
    messages += receive_messages(sqs, pipeline.queue_url, user, 1, timeout=1)  # no 13th
    groups = {m["Attributes"]["MessageGroupId"] for m in messages}
    order = [json.loads(m["Body"])["detail"]["data"]["id"] for m in messages]
    assert (groups, order) == ({user}, [f"f{n}" for n in range(12)])


def test_an_entry_without_a_group_is_delivered_in_its_users_group(
    clients: tuple[Any, Any], pipeline: EventPipeline
) -> None:
    """No EventGroupId: the subscriber's MessageGroupId falls back to detail.userId."""
    bus, sqs = clients
    user = f"user-{uuid.uuid4().hex[:8]}"
    answer = bus.put_events(EventBusArn=pipeline.bus_arn, Entries=[entry(user, "f1", group=None)])
    assert answer["FailedEntryCount"] == 0
    [message] = receive_messages(sqs, pipeline.queue_url, user, 1)
    assert message["Attributes"]["MessageGroupId"] == user


@pytest.mark.parametrize(
    ("source", "detail_type"),
    [("healthcoach.food-logs", "foodLogErased"), ("healthcoach.food-log", "foodLogDeleted")],
    ids=["unknown-type", "misspelled-source"],
)
def test_an_event_matching_no_schema_is_rejected_and_holds_back_nothing(
    clients: tuple[Any, Any], pipeline: EventPipeline, source: str, detail_type: str
) -> None:
    """It lands in the rejected queue (counted there, alarmed in AWS), never in the dispatch queue,
    and the same user's next event is delivered."""
    bus, sqs = clients
    user = f"user-{uuid.uuid4().hex[:8]}"
    bad = entry(user, "f1", source=source, detail_type=detail_type)
    bus.put_events(EventBusArn=pipeline.bus_arn, Entries=[bad, entry(user, "f2")])
    [rejected] = receive_messages(sqs, pipeline.rejected_queue_url, user, 1)
    assert (json.loads(rejected["Body"])["source"], json.loads(rejected["Body"])["detail-type"]) == (
        source,
        detail_type,
    )
    dispatched = receive_messages(sqs, pipeline.queue_url, user, 1)
    dispatched += receive_messages(sqs, pipeline.queue_url, user, 1, timeout=1)
    assert [json.loads(m["Body"])["detail"]["data"]["id"] for m in dispatched] == ["f2"]


def test_events_of_other_sources_reach_neither_queue(
    clients: tuple[Any, Any], pipeline: EventPipeline
) -> None:
    """Only healthcoach.* is ours: another team's event on the bus is none of our business."""
    bus, sqs = clients
    user = f"user-{uuid.uuid4().hex[:8]}"
    bus.put_events(
        EventBusArn=pipeline.bus_arn, Entries=[entry(user, "x", source="billing.invoices"), entry(user, "f9")]
    )
    assert [
        json.loads(m["Body"])["detail"]["data"]["id"]
        for m in receive_messages(sqs, pipeline.queue_url, user, 1)
        + receive_messages(sqs, pipeline.queue_url, user, 1, timeout=1)
    ] == ["f9"]
    assert receive_messages(sqs, pipeline.rejected_queue_url, user, 1, timeout=2) == []
