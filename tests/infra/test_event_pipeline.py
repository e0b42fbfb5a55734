"""The event pipeline: catalogue-generated rule, encrypted queues with redrive, event source mappings."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from healthcoach_realtime.catalogue import schema_dir
from healthcoach_realtime.resources import (
    DISPATCH_SHARDS,
    DISPATCH_VISIBILITY_TIMEOUT_SECONDS,
    MAX_RECEIVE_COUNT,
    dispatch_routes,
)
from tests.infra.conftest import STREAM_ARNS, Synthesized


def _ref(synthesized: Synthesized, construct: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [synthesized.logical_id(construct), "Arn"]}


def _rules(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synthesized.of_type("AWS::Events::Rule").values()]


def test_the_rule_patterns_are_the_dispatch_routes(synthesized: Synthesized) -> None:
    """One rule per route of ``dispatch_routes()`` (16 shards + unsharded), which the local stack
    provisions too; each sends to the route's message group."""
    deployed = {
        r["Targets"][0]["SqsParameters"]["MessageGroupId"]: r["EventPattern"] for r in _rules(synthesized)
    }
    assert deployed == {route.name: route.pattern for route in dispatch_routes()}
    assert len(deployed) == DISPATCH_SHARDS + 1


def test_every_rule_matches_exactly_the_schema_files(synthesized: Synthesized) -> None:
    """One detail-type per file in schemas/: the catalogue is the one source of truth."""
    expected = sorted(p.stem for p in schema_dir().glob("*.json"))
    assert all(sorted(r["EventPattern"]["detail-type"]) == expected for r in _rules(synthesized))


def test_the_rules_listen_on_the_bus_and_feed_the_queue(synthesized: Synthesized) -> None:
    """Bus -> queue, with a standard DLQ catching what EventBridge cannot deliver."""
    pipeline = synthesized.stack.pipeline
    for rule in _rules(synthesized):
        assert rule["EventBusName"] == {"Ref": synthesized.logical_id(pipeline.bus)}
        (target,) = rule["Targets"]
        assert target["Arn"] == _ref(synthesized, pipeline.queue)
        assert target["DeadLetterConfig"] == {"Arn": _ref(synthesized, pipeline.rule_dead_letter_queue)}


def test_the_dispatch_queue_and_its_dlq_are_fifo(synthesized: Synthesized) -> None:
    """FIFO with content-based deduplication (EventBridge needs it), high-throughput mode on the
    queue (limits per message group); names end in .fifo."""
    pipeline = synthesized.stack.pipeline
    queue = synthesized.resources[synthesized.logical_id(pipeline.queue)]["Properties"]
    dlq = synthesized.resources[synthesized.logical_id(pipeline.dead_letter_queue)]["Properties"]
    for properties in (queue, dlq):
        assert (properties["FifoQueue"], properties["ContentBasedDeduplication"]) == (True, True)
        assert properties["QueueName"].endswith(".fifo")
    assert (queue["DeduplicationScope"], queue["FifoThroughputLimit"]) == (
        "messageGroup",
        "perMessageGroupId",
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
    """SSE on the dispatch queue, its DLQ, the rules' DLQ and the stream bridge's failure queue."""
    queues = synthesized.of_type("AWS::SQS::Queue").values()
    assert len(queues) == 4
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
    assert len(denied) == 4


def test_only_the_dispatch_rules_may_send_to_the_dispatch_queue(synthesized: Synthesized) -> None:
    """EventBridge's SendMessage is allowed once per dispatch rule, conditioned on its ARN."""
    pipeline = synthesized.stack.pipeline
    (policy,) = [
        p["Properties"]
        for p in synthesized.of_type("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": synthesized.logical_id(pipeline.queue)}]
    ]
    senders = [
        s["Condition"]["ArnEquals"]["aws:SourceArn"]
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    expected = [_ref(synthesized, rule) for rule in pipeline.rules.values()]
    assert sorted(senders, key=str) == sorted(expected, key=str)


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
