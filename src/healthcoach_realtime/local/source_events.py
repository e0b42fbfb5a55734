"""The events Lambda's SQS and DynamoDB Streams event sources build, and how they read the answer.

Pure: boto3 response shapes in, Lambda event shapes out. The local pollers use these so the
dispatcher and the stream bridge get exactly what AWS would hand them::

    event = sqs_event(messages, queue_arn=arn, region="us-east-1")      # {"Records": [...]}
    failed = failed_item_ids(handler(event, ctx), [r["messageId"] for r in event["Records"]])

Tests and the bench build their events here too (``sqs_message`` for a body that was never in a
queue), so there is one place that knows the shapes.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

__all__ = ["failed_item_ids", "sqs_event", "sqs_message", "sqs_record", "stream_event", "stream_record"]


def sqs_message(
    body: str,
    *,
    message_id: str | None = None,
    receipt_handle: str = "",
    attributes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A message as ``receive_message`` returns it, carrying ``body`` (with SQS's MD5 of it):
    for an event whose record never went through a queue."""
    return {
        "MessageId": message_id or str(uuid.uuid4()),
        "ReceiptHandle": receipt_handle,
        "Body": body,
        "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),  # SQS's checksum
        "Attributes": dict(attributes or {}),
    }


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message (``receive_message`` with all attributes) as an SQS event record."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(messages: Sequence[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """The batch event an SQS event source mapping invokes its function with."""
    return {"Records": [sqs_record(m, queue_arn=queue_arn, region=region) for m in messages]}


def stream_record(record: Mapping[str, Any], *, stream_arn: str) -> dict[str, Any]:
    """One ``dynamodbstreams.get_records`` record as a Lambda stream record.

    Lambda adds ``eventSourceARN``; its JSON carries the creation time as epoch seconds and
    binary attribute values as base64, where boto3 gives a datetime and bytes.
    """
    out = {key: value for key, value in record.items() if key != "dynamodb"}
    dynamodb = dict(record.get("dynamodb", {}))
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = _epoch_seconds(created)
    for image in ("Keys", "NewImage", "OldImage"):
        if image in dynamodb:
            dynamodb[image] = _json_attribute_values(dynamodb[image])
    out["dynamodb"] = dynamodb
    out["eventSourceARN"] = stream_arn
    return out


def stream_event(records: Sequence[Mapping[str, Any]], *, stream_arn: str) -> dict[str, Any]:
    """The batch event a DynamoDB stream event source mapping invokes its function with."""
    return {"Records": [stream_record(r, stream_arn=stream_arn) for r in records]}


def failed_item_ids(response: object, batch_ids: Sequence[str]) -> set[str]:
    """The ids to retry, read from a handler's ``batchItemFailures`` answer as Lambda reads it.

    Success: no answer, an answer without the key, or a null/empty list. Whole-batch failure:
    anything malformed (not a list, an entry without ``itemIdentifier``, an empty or unknown id).
    """
    if not isinstance(response, Mapping):
        return set()
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    everything = set(batch_ids)
    if not isinstance(failures, list):
        return everything
    failed: set[str] = set()
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(item, str) or item not in everything:
            return everything
        failed.add(item)
    return failed


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """``{"StringValue", "DataType"}`` (boto3) -> ``{"stringValue", ..., "dataType"}`` (Lambda)."""
    out: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return out


def _json_attribute_values(value: Any) -> Any:
    """DynamoDB's attribute-value JSON with bytes as base64, recursively (B, BS, inside M and L)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {key: _json_attribute_values(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_attribute_values(inner) for inner in value]
    return value


def _epoch_seconds(moment: datetime) -> int | float:
    seconds = moment.timestamp()
    return int(seconds) if seconds.is_integer() else round(seconds, 3)
