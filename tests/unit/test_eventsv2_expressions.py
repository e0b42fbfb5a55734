"""``{% %}`` subscriber values and the SQS messages a subscriber renders for an event."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from healthcoach_realtime.local.eventsv2.events import PublishedEvent, build_event
from healthcoach_realtime.local.eventsv2.exceptions import DeliveryError, InvalidInputError
from healthcoach_realtime.local.eventsv2.expressions import Expression, Literal, compile_value, evaluate
from healthcoach_realtime.local.eventsv2.subscribers import compile_config, dead_letter_message, render

BUS = "arn:aws:events:us-east-1:123456789012:event-busv2/bus/" + "a" * 25
QUEUE = "arn:aws:sqs:us-east-1:123456789012:dispatch.fifo"
DLQ = "arn:aws:sqs:us-east-1:123456789012:dispatch-dlq.fifo"
GROUP_OR_USER = (
    "{% $exists($events.SystemMetadata.EventGroupId) ? $events.SystemMetadata.EventGroupId "
    ": $events.Data.detail.userId %}"
)
EVENT_ID = '{% $events.SystemMetadata."aws:EventId" %}'


def _event(*, group: str | None, user: str = "alice") -> PublishedEvent:
    detail = {"userId": user, "data": {"calories": 300}}
    entry: dict[str, Any] = {"Source": "healthcoach.food-logs", "DetailType": "foodLogCreated"}
    if group is not None:
        entry["SystemMetadata"] = {"EventGroupId": group, "DeduplicationId": "d-1"}
    return build_event(
        entry,
        detail,
        event_id="evt-1",
        sequence_number=3,
        bus_arn=BUS,
        account="123456789012",
        region="us-east-1",
        ingestion_time=1_700_000_000.25,
    )


def _config(**settings: Any) -> Any:
    base: dict[str, Any] = {
        "Type": "FIFO",
        "InvokeConfiguration": {
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "TargetArn": QUEUE,
            "SqsParameters": {"MessageGroupId": GROUP_OR_USER, "MessageDeduplicationId": EVENT_ID},
        },
    }
    return compile_config({**base, **settings})


def test_the_group_expression_takes_the_event_group_when_there_is_one() -> None:
    """With an EventGroupId the expression yields it, not the user in the detail."""
    value = compile_value(GROUP_OR_USER, "MessageGroupId")

    assert isinstance(value, Expression)
    assert evaluate(value, _event(group="g-7").view) == "g-7"


def test_the_group_expression_falls_back_to_the_detail_user() -> None:
    """Without an EventGroupId the same expression yields ``detail.userId``."""
    assert (
        evaluate(compile_value(GROUP_OR_USER, "MessageGroupId"), _event(group=None, user="bob").view) == "bob"
    )


def test_a_literal_stays_a_literal_and_mixed_text_is_refused() -> None:
    """Plain text is sent as is; text around a ``{% %}`` is not emulated."""
    assert compile_value("fixed-group", "MessageGroupId") == Literal("fixed-group")
    with pytest.raises(InvalidInputError, match="whole"):
        compile_value("user-{% $events.Data.detail.userId %}", "MessageGroupId")


def test_an_expression_that_does_not_parse_is_refused() -> None:
    """A syntax error is caught when the subscriber is created."""
    with pytest.raises(InvalidInputError, match="JSONata"):
        compile_value("{% $events.( %}", "MessageGroupId")


def test_a_raw_subscriber_sends_the_envelope_with_the_group_and_event_id() -> None:
    """RAW: the body is the classic envelope; the FIFO parameters come from the expressions."""
    message = render(_config(), _event(group="alice"))

    body = json.loads(message.body)
    assert body["id"] == "evt-1"
    assert body["detail"] == {"userId": "alice", "data": {"calories": 300}}
    assert body["detail-type"] == "foodLogCreated"
    assert body["time"] == "2023-11-14T22:13:20Z"
    assert (message.group_id, message.deduplication_id) == ("alice", "evt-1")
    assert message.queue.fifo


def test_with_metadata_sends_data_metadata_and_system_metadata() -> None:
    """WITH_METADATA: the body carries the envelope and both metadata maps, all strings."""
    body = json.loads(render(_config(Transformer={"Type": "WITH_METADATA"}), _event(group="alice")).body)

    assert set(body) == {"Data", "Metadata", "SystemMetadata"}
    assert body["SystemMetadata"] == {
        "aws:EventId": "evt-1",
        "aws:Source": "healthcoach.food-logs",
        "aws:DetailType": "foodLogCreated",
        "aws:DeliveryType": "LIVE",
        "aws:IngestionTime": "2023-11-14T22:13:20.250Z",
        "aws:SequenceNumber": "3",
        "ContentType": "application/eventbridge+json",
        "EventGroupId": "alice",
        "DeduplicationId": "d-1",
    }


def test_a_jsonata_transformer_shapes_the_body_and_a_null_result_fails_the_delivery() -> None:
    """JSONATA: the body is the expression's value; no value is a delivery failure."""
    shaped = _config(
        Transformer={
            "Type": "JSONATA",
            "JsonataConfiguration": {"Expression": "{% {'user': $events[0].Data.detail.userId} %}"},
        }
    )
    empty = _config(
        Transformer={
            "Type": "JSONATA",
            "JsonataConfiguration": {"Expression": "{% $events[0].Data.nothing %}"},
        }
    )

    assert json.loads(render(shaped, _event(group="g")).body) == {"user": "alice"}
    with pytest.raises(DeliveryError, match="no value"):
        render(empty, _event(group="g"))


def test_a_missing_group_leaves_message_group_id_out() -> None:
    """A group expression with no value omits MessageGroupId (SQS then refuses a FIFO send)."""
    config = _config(
        InvokeConfiguration={
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "TargetArn": QUEUE,
            "SqsParameters": {"MessageGroupId": "{% $events.SystemMetadata.EventGroupId %}"},
        }
    )

    assert render(config, _event(group=None)).group_id is None


def test_a_target_other_than_sqs_is_refused_as_not_emulated() -> None:
    """Only SQS targets are emulated."""
    with pytest.raises(InvalidInputError, match="only SQS"):
        compile_config(
            {
                "InvokeConfiguration": {
                    "RoleArn": "arn:aws:iam::123456789012:role/r",
                    "TargetArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                }
            }
        )


def test_the_dead_letter_record_carries_ids_and_never_the_payload() -> None:
    """The on-failure record names the subscriber, event, group and error; a FIFO DLQ gets group and id."""
    config = _config(OnFailureConfiguration={"Arn": DLQ})
    error = DeliveryError("MissingParameter", "MessageGroupId")

    message = dead_letter_message(
        config, _event(group="alice"), subscriber_arn="arn:sub", error=error, attempts=6
    )

    assert message is not None
    record = json.loads(message.body)
    assert record["eventId"] == "evt-1"
    assert record["eventGroupId"] == "alice"
    assert (record["errorCode"], record["attempts"], record["subscriberArn"]) == (
        "MissingParameter",
        6,
        "arn:sub",
    )
    assert "calories" not in message.body
    assert (message.group_id, message.deduplication_id) == ("alice", "evt-1")


def test_importing_the_expressions_keeps_the_recursion_limit() -> None:
    """jsonata-python raises the process's recursion limit on import; the local stack, which parses
    untrusted JSON, must keep the interpreter's own (checked in a fresh interpreter)."""
    script = (
        "import sys; before = sys.getrecursionlimit()\n"
        "import healthcoach_realtime.local.eventsv2.expressions\n"
        "import jsonata\n"
        "print(before, sys.getrecursionlimit())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    before, after = out.split()
    assert after == before
