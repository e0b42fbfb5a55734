"""DeadLetterQueue against moto's SQS over HTTP: standard and FIFO queues (the dispatch DLQ is FIFO)."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from healthcoach_realtime.dead_letters import DeadLetterQueue

REGION = "us-east-1"


@pytest.fixture
def sqs(aws_env: str) -> Any:
    return boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)


def _received(sqs: Any, url: str) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def test_a_fifo_queue_gets_the_record_in_the_origins_group_once(sqs: Any) -> None:
    """Parked twice (a redelivered invalid record): one message, group = origin, reason attached."""
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    queue = DeadLetterQueue(sqs, url, origin="dispatcher")
    assert queue.park('{"bad": 1}', "unknown event type", record_id="m-1")
    assert queue.park('{"bad": 1}', "unknown event type", record_id="m-1")
    messages = _received(sqs, url)
    assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in messages] == [
        ('{"bad": 1}', "dispatcher")
    ]
    assert messages[0]["MessageAttributes"]["reason"]["StringValue"] == "unknown event type"


def test_a_standard_queue_gets_no_fifo_parameters(sqs: Any) -> None:
    """A standard queue refuses MessageGroupId: none is sent, the record lands."""
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    assert DeadLetterQueue(sqs, url, origin="stream-bridge").park("{}", "why", record_id="r-1")
    assert [m["Body"] for m in _received(sqs, url)] == ["{}"]
