"""The local event source mappings against moto's server: SQS batches honour batchItemFailures
(delete, redeliver, dead-letter) and stream records reach the handler as Lambda delivers them.

The handler is a recording function here: what is under test is the poller, not a Lambda.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from tests.support.sqs_events import queue_arn

from healthcoach_realtime.local.pollers import SqsPoller, StreamPoller
from healthcoach_realtime.local.provision import create_data_table
from healthcoach_realtime.resources import DataTable

REGION = "us-east-1"
MAX_RECEIVES = 3
WAIT_SECONDS = 15.0


class Queue:
    """A fresh queue with a DLQ after MAX_RECEIVES receives, as provision makes the dispatch queue."""

    def __init__(self, sqs: Any) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.sqs = sqs
        self.dlq_url = sqs.create_queue(QueueName=f"dlq-{suffix}")["QueueUrl"]
        dlq_arn = queue_arn(sqs, self.dlq_url)
        policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}
        self.url = sqs.create_queue(
            QueueName=f"q-{suffix}", Attributes={"RedrivePolicy": json.dumps(policy)}
        )["QueueUrl"]
        self.arn = queue_arn(sqs, self.url)

    def send(self, *bodies: str) -> None:
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=body)

    def count(self, url: str) -> int:
        """Visible plus in-flight messages."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


@pytest.fixture
def queue(aws_env: str) -> Queue:
    return Queue(boto3.client("sqs", region_name=REGION))


def poller(queue: Queue, invoke: Callable[[dict[str, Any]], Any]) -> SqsPoller:
    return SqsPoller(
        sqs=queue.sqs,
        queue_url=queue.url,
        queue_arn=queue.arn,
        region=REGION,
        invoke=invoke,
        visibility_timeout=1,
        wait_seconds=1,
    )


def poll_until(step: Callable[[], Any], done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        assert time.monotonic() < deadline, "condition not reached in time"
        step()


def test_successful_batch_is_deleted(queue: Queue) -> None:
    """A batch the handler accepts is gone from the queue, and the handler saw it once."""
    seen: list[str] = []
    queue.send("a", "b")
    sqs_poller = poller(queue, lambda event: seen.extend(r["body"] for r in event["Records"]))

    poll_until(sqs_poller.poll_once, lambda: len(seen) >= 2)

    assert sorted(seen) == ["a", "b"]
    assert queue.count(queue.url) == 0


def test_handler_gets_lambdas_sqs_event(queue: Queue) -> None:
    """Records carry messageId, receiptHandle, attributes, eventSource and the queue's ARN."""
    events: list[dict[str, Any]] = []
    queue.send("hello")
    sqs_poller = poller(queue, events.append)

    poll_until(sqs_poller.poll_once, lambda: bool(events))

    record = events[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["body"] == "hello"


def test_reported_failure_is_redelivered_then_dead_lettered(queue: Queue) -> None:
    """Only the record named in batchItemFailures comes back; after MAX_RECEIVES it moves to the DLQ."""
    seen: list[str] = []

    def fail_b(event: dict[str, Any]) -> dict[str, Any]:
        seen.extend(r["body"] for r in event["Records"])
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "b"
            ]
        }

    queue.send("a", "b")
    sqs_poller = poller(queue, fail_b)

    poll_until(sqs_poller.poll_once, lambda: queue.count(queue.dlq_url) == 1)

    assert seen.count("a") == 1
    assert seen.count("b") == MAX_RECEIVES
    assert queue.count(queue.url) == 0


def test_handler_that_raises_fails_the_whole_batch(queue: Queue) -> None:
    """An exception leaves every record on the queue; each comes back."""
    seen: list[str] = []

    def fail_first_time(event: dict[str, Any]) -> None:
        bodies = [r["body"] for r in event["Records"]]
        first_time = not seen
        seen.extend(bodies)
        if first_time:
            raise RuntimeError("boom")

    queue.send("a")
    sqs_poller = poller(queue, fail_first_time)

    poll_until(sqs_poller.poll_once, lambda: len(seen) >= 2)

    assert seen == ["a", "a"]
    poll_until(lambda: time.sleep(0.1), lambda: queue.count(queue.url) == 0)


# ---- streams ------------------------------------------------------------------------------------


@pytest.fixture
def stream_table(aws_env: str) -> tuple[Any, str, str]:
    """A fresh data table with a NEW_AND_OLD_IMAGES stream: (client, table name, stream ARN)."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = DataTable(name=f"data-{uuid.uuid4().hex[:8]}", record="foodLog")
    arn = create_data_table(dynamodb, table)
    yield dynamodb, table.name, arn
    dynamodb.delete_table(TableName=table.name)


def put(dynamodb: Any, table: str, *ids: str) -> None:
    for item_id in ids:
        dynamodb.put_item(
            TableName=table, Item={"userId": {"S": "u1"}, "id": {"S": item_id}, "n": {"N": "1"}}
        )


def stream_poller(arn: str, invoke: Callable[[dict[str, Any]], Any]) -> StreamPoller:
    return StreamPoller(
        streams=boto3.client("dynamodbstreams", region_name=REGION),
        stream_arns=[arn],
        invoke=invoke,
        stop=threading.Event(),
    )


def test_stream_records_reach_the_handler_as_lambda_sends_them(stream_table: tuple[Any, str, str]) -> None:
    """An INSERT arrives with eventSourceARN, keys and new image, as JSON-serialisable data."""
    dynamodb, table, arn = stream_table
    events: list[dict[str, Any]] = []
    put(dynamodb, table, "f1")
    polling = stream_poller(arn, events.append)

    poll_until(polling.poll_once, lambda: bool(events))

    (record,) = events[0]["Records"]
    assert record["eventName"] == "INSERT"
    assert record["eventSourceARN"] == arn
    assert record["dynamodb"]["NewImage"]["id"] == {"S": "f1"}
    json.dumps(events[0])


def test_stream_batch_is_retried_from_the_first_failed_record(stream_table: tuple[Any, str, str]) -> None:
    """A failure reported for the second record re-delivers from that record on, not the first."""
    dynamodb, table, arn = stream_table
    batches: list[list[str]] = []

    def fail_second_once(event: dict[str, Any]) -> dict[str, Any]:
        ids = [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]
        batches.append(ids)
        if len(batches) == 1:
            return {
                "batchItemFailures": [{"itemIdentifier": event["Records"][1]["dynamodb"]["SequenceNumber"]}]
            }
        return {"batchItemFailures": []}

    put(dynamodb, table, "f1", "f2", "f3")
    polling = stream_poller(arn, fail_second_once)

    poll_until(polling.poll_once, lambda: len(batches) >= 2)

    assert batches[:2] == [["f1", "f2", "f3"], ["f2", "f3"]]
