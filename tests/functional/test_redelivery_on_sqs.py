"""Hastened redelivery against moto's SQS over HTTP: what SQS accepts comes back sooner."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import pytest
from tests.support.sqs_events import deployed_fifo_queue, queue_arn

from healthcoach_realtime.dispatch.redelivery import Hastened, QueueUrls, hasten_redelivery


@pytest.fixture
def sqs(aws_env: str) -> Any:
    return boto3.client("sqs", endpoint_url=aws_env, region_name="us-east-1")


def test_what_sqs_refuses_is_left_to_the_timeout_and_the_rest_comes_back(sqs: Any) -> None:
    """One real receipt and one SQS does not know: one accepted, no exception, and the real
    message is visible again after its 1 s instead of the queue's 180 s."""
    url, arn = deployed_fifo_queue(sqs, "hasten")
    sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g")
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]

    accepted = hasten_redelivery(
        sqs,
        QueueUrls(sqs),
        [
            Hastened(arn, message["MessageId"], message["ReceiptHandle"], 1),
            Hastened(arn, "m-unknown", "not-a-receipt-handle", 1),
        ],
    )

    assert accepted == 1
    deadline = time.monotonic() + 5
    again: list[dict[str, Any]] = []
    while not again and time.monotonic() < deadline:
        again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    assert [m["MessageId"] for m in again] == [message["MessageId"]]


def test_the_queue_url_is_asked_once_per_queue(sqs: Any) -> None:
    """GetQueueUrl by name and account from the ARN, then remembered."""
    url = sqs.create_queue(QueueName=f"urls-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = queue_arn(sqs, url)
    calls: list[str] = []
    sqs.meta.events.register("before-call.sqs.GetQueueUrl", lambda **_: calls.append("GetQueueUrl"))
    urls = QueueUrls(sqs)
    assert urls(arn) == urls(arn) == url
    assert calls == ["GetQueueUrl"]
