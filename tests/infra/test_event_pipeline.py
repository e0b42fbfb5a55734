"""The event pipeline: catalogue-generated rule, encrypted queues with redrive, event source mappings."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from healthcoach_realtime.catalogue import schema_dir
from healthcoach_realtime.resources import (
    DISPATCH_VISIBILITY_TIMEOUT_SECONDS,
    MAX_RECEIVE_COUNT,
    dispatch_rule_pattern,
)
from tests.infra.conftest import STREAM_ARNS, Synthesized


def _ref(synthesized: Synthesized, construct: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [synthesized.logical_id(construct), "Arn"]}


def test_the_rule_pattern_is_generated_from_the_catalogue(synthesized: Synthesized) -> None:
    """The deployed pattern is ``dispatch_rule_pattern()``, which the local stack uses too."""
    (rule,) = synthesized.of_type("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == dispatch_rule_pattern()


def test_the_rule_matches_exactly_the_schema_files(synthesized: Synthesized) -> None:
    """One detail-type per file in schemas/: the catalogue is the one source of truth."""
    (rule,) = synthesized.of_type("AWS::Events::Rule").values()
    assert sorted(rule["Properties"]["EventPattern"]["detail-type"]) == sorted(
        p.stem for p in schema_dir().glob("*.json")
    )


def test_the_rule_listens_on_the_bus_and_feeds_the_queue(synthesized: Synthesized) -> None:
    """Bus -> queue, with the DLQ catching what EventBridge cannot deliver."""
    pipeline = synthesized.stack.pipeline
    synthesized.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": {"Ref": synthesized.logical_id(pipeline.bus)},
            "Targets": [
                Match.object_like(
                    {
                        "Arn": _ref(synthesized, pipeline.queue),
                        "DeadLetterConfig": {"Arn": _ref(synthesized, pipeline.dead_letter_queue)},
                    }
                )
            ],
        },
    )


def test_the_dispatch_queue_redrives_to_the_dlq(synthesized: Synthesized) -> None:
    """After MAX_RECEIVE_COUNT receives a message moves to the DLQ; visibility as resources says."""
    pipeline = synthesized.stack.pipeline
    queue = synthesized.resources[synthesized.logical_id(pipeline.queue)]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": _ref(synthesized, pipeline.dead_letter_queue),
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    }
    assert queue["VisibilityTimeout"] == DISPATCH_VISIBILITY_TIMEOUT_SECONDS


def test_every_queue_is_encrypted_at_rest(synthesized: Synthesized) -> None:
    """SSE on the dispatch queue, its DLQ and the stream bridge's failure queue."""
    queues = synthesized.of_type("AWS::SQS::Queue").values()
    assert len(queues) == 3
    assert all(q["Properties"].get("SqsManagedSseEnabled") is True for q in queues)


def test_every_queue_refuses_plain_http(synthesized: Synthesized) -> None:
    """Each queue policy denies requests without TLS."""
    policies = synthesized.of_type("AWS::SQS::QueuePolicy").values()
    denied = [
        s
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denied) == 3


def test_only_this_rule_may_send_to_the_dispatch_queue(synthesized: Synthesized) -> None:
    """EventBridge's SendMessage is conditioned on this rule's ARN."""
    pipeline = synthesized.stack.pipeline
    synthesized.template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": synthesized.logical_id(pipeline.queue)}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": Match.array_with(["sqs:SendMessage"]),
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Condition": {
                                    "ArnEquals": {"aws:SourceArn": _ref(synthesized, pipeline.rule)}
                                },
                            }
                        )
                    ]
                )
            },
        },
    )


def test_the_dispatcher_reports_batch_item_failures(synthesized: Synthesized) -> None:
    """SQS -> dispatcher with ReportBatchItemFailures and a concurrency cap."""
    stack = synthesized.stack
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": _ref(synthesized, stack.pipeline.queue),
            "FunctionName": {"Ref": synthesized.logical_id(stack.dispatcher.function)},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": Match.any_value()},
        },
    )


def _stream_mappings(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [
        m["Properties"]
        for m in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] in STREAM_ARNS.values()
    ]


def test_each_data_table_stream_feeds_the_bridge(synthesized: Synthesized) -> None:
    """One mapping per configured data table stream, into the stream bridge."""
    bridge = {"Ref": synthesized.logical_id(synthesized.stack.stream_bridge.function)}
    mappings = _stream_mappings(synthesized)
    assert sorted(m["EventSourceArn"] for m in mappings) == sorted(STREAM_ARNS.values())
    assert all(m["FunctionName"] == bridge for m in mappings)


def test_stream_mappings_bisect_and_park_failures(synthesized: Synthesized) -> None:
    """Bisect on error, bounded retries and age, partial failures, on-failure to the failure queue."""
    failures = _ref(synthesized, synthesized.stack.pipeline.stream_bridge_failures)
    for mapping in _stream_mappings(synthesized):
        assert mapping["BisectBatchOnFunctionError"] is True
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": failures}}
        assert 0 <= mapping["MaximumRetryAttempts"] <= 10
        assert mapping["MaximumRecordAgeInSeconds"] > 0
