"""SQS events for the dispatcher, shaped like ``tests/events/sqs_dispatch_batch.json`` (a real
Lambda SQS event whose bodies are EventBridge envelopes), and EMF metric reading.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

from healthcoach_realtime.catalogue import source_for
from healthcoach_realtime.local import source_events

__all__ = [
    "deployed_fifo_queue",
    "emf_metrics",
    "envelope",
    "load_sample",
    "queue_arn",
    "receive_envelopes",
    "receive_messages",
    "sqs_event",
    "sqs_event_from_messages",
    "sqs_record",
]

SAMPLE = Path(__file__).resolve().parents[1] / "events" / "sqs_dispatch_batch.json"


def queue_arn(sqs: Any, queue_url: str) -> str:
    """The ARN of the queue at ``queue_url`` (what rules, redrive policies and events name)."""
    return str(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    )


def deployed_fifo_queue(sqs: Any, prefix: str) -> tuple[str, str]:
    """A fresh FIFO queue configured as the dispatch queue is deployed (content-based
    deduplication, a received message hidden for 180 s); its URL and ARN."""
    url = str(
        sqs.create_queue(
            QueueName=f"{prefix}-{uuid.uuid4().hex[:8]}.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "180"},
        )["QueueUrl"]
    )
    return url, queue_arn(sqs, url)


def load_sample() -> dict[str, Any]:
    """A fresh copy of the sample batch (three valid events of two users)."""
    return copy.deepcopy(json.loads(SAMPLE.read_text()))


def envelope(event_type: str, user_id: str, data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """An EventBridge envelope as the dispatch rule delivers it to SQS."""
    document = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": event_type,
        "source": source_for(event_type),
        "account": "123456789012",
        "time": "2026-11-29T08:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"userId": user_id, "data": data},
    }
    document.update(overrides)
    return document


def sqs_record(body: dict[str, Any] | str, *, message_id: str | None = None) -> dict[str, Any]:
    """One record from the sample's queue, with its attributes; ``body`` is an envelope, or raw
    text as received."""
    sample: dict[str, Any] = load_sample()["Records"][0]
    text = body if isinstance(body, str) else json.dumps(body)
    message = source_events.sqs_message(
        text, message_id=message_id, receipt_handle=sample["receiptHandle"], attributes=sample["attributes"]
    )
    return source_events.sqs_record(message, queue_arn=sample["eventSourceARN"], region=sample["awsRegion"])


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    """The Lambda event for these records."""
    return {"Records": list(records)}


def sqs_event_from_messages(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What Lambda's SQS event source builds from messages received from ``queue_arn``."""
    return source_events.sqs_event(messages, queue_arn=queue_arn, region=queue_arn.split(":")[3])


def receive_messages(
    sqs: Any, queue_url: str, user_id: str, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Up to ``count`` raw messages of ``user_id`` from a queue shared by tests.

    Every message seen is deleted (others' too), so no later test sees it again.
    """
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if json.loads(message["Body"]).get("detail", {}).get("userId") == user_id:
                found.append(message)
    return found


def receive_envelopes(
    sqs: Any, queue_url: str, user_id: str, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """The EventBridge envelopes of ``receive_messages``."""
    return [json.loads(m["Body"]) for m in receive_messages(sqs, queue_url, user_id, count, timeout)]


def emf_metrics(stdout: str) -> dict[str, float]:
    """Metric name -> summed value over the CloudWatch EMF documents Powertools printed."""
    totals: dict[str, float] = {}
    for line in stdout.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                totals[metric["Name"]] = totals.get(metric["Name"], 0.0) + sum(values)
    return totals
