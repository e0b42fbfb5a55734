"""The emulator's delivery into SQS: moto's own SQS backend in this process, refusing what AWS's
SendMessage refuses (moto alone would take a FIFO message without a group when the queue
deduplicates by content). The queues live in the session's emulator, which runs in this process,
so the sender reaches the same backend the boto3 client reads."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from healthcoach_realtime.local.eventsv2.arns import QueueArn
from healthcoach_realtime.local.eventsv2.exceptions import DeliveryError
from healthcoach_realtime.local.eventsv2.sqs_sender import MotoSqsSender
from healthcoach_realtime.local.eventsv2.subscribers import SqsMessage

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def sqs(aws_env: str) -> Any:
    return boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)


def queue(sqs: Any, name: str, **attributes: str) -> QueueArn:
    """A fresh queue ``<random>-name`` in the emulator."""
    name = f"sender-{uuid.uuid4().hex[:8]}-{name}"
    sqs.create_queue(QueueName=name, Attributes=attributes)
    return QueueArn(f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}", REGION, ACCOUNT, name)


def test_a_message_lands_in_the_queue_with_its_group_and_dedup_id(sqs: Any) -> None:
    """What the sender hands over is what a consumer receives: body, group, dedup id."""
    target = queue(sqs, "q.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    MotoSqsSender().send(SqsMessage(target, '{"id": "e1"}', group_id="u1", deduplication_id="e1"))
    [message] = sqs.receive_message(
        QueueUrl=sqs.get_queue_url(QueueName=target.name)["QueueUrl"], AttributeNames=["All"]
    )["Messages"]
    assert (message["Body"], message["Attributes"]["MessageGroupId"]) == ('{"id": "e1"}', "u1")
    assert message["Attributes"]["MessageDeduplicationId"] == "e1"


def test_a_fifo_message_without_a_group_is_refused_as_by_sqs(sqs: Any) -> None:
    """MissingParameter, even on a queue that deduplicates by content (moto would accept it)."""
    target = queue(sqs, "cbd.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    with pytest.raises(DeliveryError) as refused:
        MotoSqsSender().send(SqsMessage(target, "{}"))
    assert refused.value.code == "MissingParameter"


def test_a_missing_queue_is_sqs_s_own_error(sqs: Any) -> None:
    """A target queue that does not exist: SQS's code, for the retry policy and the dead letter."""
    gone = QueueArn(f"arn:aws:sqs:{REGION}:{ACCOUNT}:gone", REGION, ACCOUNT, "gone")
    with pytest.raises(DeliveryError) as refused:
        MotoSqsSender().send(SqsMessage(gone, "{}"))
    assert refused.value.code == "AWS.SimpleQueueService.NonExistentQueue"
