"""Lambda's SQS and stream events built from boto3 answers; batchItemFailures read as Lambda reads them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from healthcoach_realtime.local.source_events import (
    failed_item_ids,
    sqs_event,
    sqs_message,
    sqs_record,
    stream_event,
)

EVENTS = Path(__file__).resolve().parents[1] / "events"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:healthcoach-realtime-dispatch"
STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/healthcoach_food_logs/stream/2026-11-29T07:00:00.000"
)


def capture(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def received_message(**extra: Any) -> dict[str, Any]:
    """A message as boto3's receive_message returns it (all attributes asked for)."""
    return {
        "MessageId": "1b0c2a8e",
        "ReceiptHandle": "AQEB",
        "MD5OfBody": "4264",
        "Body": '{"detail-type": "foodLogCreated"}',
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1795929001583",
            "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
            "ApproximateFirstReceiveTimestamp": "1795929001590",
        },
        **extra,
    }


def stream_records() -> list[dict[str, Any]]:
    """A record as boto3's dynamodbstreams get_records returns it."""
    return [
        {
            "eventID": "1",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": datetime(2026, 11, 29, 7, 30, 2, tzinfo=UTC),
                "Keys": {"userId": {"S": "user-a"}, "id": {"S": "f1"}},
                "NewImage": {"userId": {"S": "user-a"}, "id": {"S": "f1"}, "photo": {"B": b"\x00\x01"}},
                "SequenceNumber": "100",
                "SizeBytes": 30,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
        }
    ]


def test_sqs_record_has_the_keys_of_a_real_batch() -> None:
    """Each record carries exactly the keys of the captured SQS batch event."""
    real = capture("sqs_dispatch_batch")["Records"][0]
    record = sqs_event([received_message()], queue_arn=QUEUE_ARN, region="us-east-1")["Records"][0]
    assert set(record) == set(real)
    assert set(record["attributes"]) == set(real["attributes"])
    assert record["eventSourceARN"] == QUEUE_ARN
    assert record["body"] == '{"detail-type": "foodLogCreated"}'


def test_sqs_message_attributes_use_lambdas_names() -> None:
    """StringValue/DataType (boto3) become stringValue/dataType with the list fields Lambda adds."""
    message = received_message(MessageAttributes={"kind": {"StringValue": "x", "DataType": "String"}})
    record = sqs_event([message], queue_arn=QUEUE_ARN, region="us-east-1")["Records"][0]
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "x", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }


def test_stream_record_has_the_keys_of_a_real_batch() -> None:
    """A stream record gets eventSourceARN and the keys of the captured stream event."""
    real = capture("dynamodb_stream_batch")["Records"][0]
    record = stream_event(stream_records(), stream_arn=STREAM_ARN)["Records"][0]
    assert set(record) == set(real)
    assert record["eventSourceARN"] == STREAM_ARN


def test_stream_record_is_json_as_lambda_sends_it() -> None:
    """Creation time as epoch seconds and binary values as base64: the event survives json.dumps."""
    record = stream_event(stream_records(), stream_arn=STREAM_ARN)["Records"][0]
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1795937402  # 2026-11-29T07:30:02Z
    assert record["dynamodb"]["NewImage"]["photo"] == {"B": "AAE="}
    json.dumps(record)


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}, "ok"],
    ids=["none", "empty", "null-list", "empty-list", "not-a-dict"],
)
def test_answers_lambda_treats_as_complete_success(response: object) -> None:
    """No answer, no key, a null or empty list: nothing to retry."""
    assert failed_item_ids(response, ["a", "b"]) == set()


def test_named_failures_are_the_only_ones_retried() -> None:
    """The itemIdentifiers listed are retried, the others are done."""
    response = {"batchItemFailures": [{"itemIdentifier": "b"}]}
    assert failed_item_ids(response, ["a", "b", "c"]) == {"b"}


@pytest.mark.parametrize(
    "failures",
    [
        [{"itemIdentifier": ""}],
        [{"itemIdentifier": None}],
        [{"id": "a"}],
        [{"itemIdentifier": "unknown"}],
        ["a"],
        "a",
    ],
    ids=["empty-id", "null-id", "bad-key", "unknown-id", "not-an-object", "not-a-list"],
)
def test_malformed_answers_fail_the_whole_batch(failures: object) -> None:
    """What Lambda's docs call an invalid answer retries every record."""
    assert failed_item_ids({"batchItemFailures": failures}, ["a", "b"]) == {"a", "b"}


def test_a_message_built_from_a_body_makes_the_captured_record() -> None:
    """``sqs_message`` (for a body never queued) with the capture's ids and attributes gives the
    captured record exactly: the MD5 is SQS's, and no field is missing or extra."""
    for captured in capture("sqs_dispatch_batch")["Records"]:
        message = sqs_message(
            captured["body"],
            message_id=captured["messageId"],
            receipt_handle=captured["receiptHandle"],
            attributes=captured["attributes"],
        )
        assert (
            sqs_record(message, queue_arn=captured["eventSourceARN"], region=captured["awsRegion"])
            == captured
        )


def test_a_message_without_an_id_gets_a_fresh_one() -> None:
    """Two records built from one body are two messages (distinct ids), as two sends would be."""
    assert sqs_message("{}")["MessageId"] != sqs_message("{}")["MessageId"]
