"""The event pipeline: the Custom Event Bus, its subscribers, the encrypted queues with their DLQs,
the delivery role, the producers' policy and the event source mappings."""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Match, Template

from healthcoach_infra.event_pipeline import EventPipeline, subscriber_construct_id, subscriber_name
from healthcoach_realtime.catalogue import schema_dir
from healthcoach_realtime.resources import (
    BUS_RETENTION_DAYS,
    DISPATCH_VISIBILITY_TIMEOUT_SECONDS,
    MAX_RECEIVE_COUNT,
    REJECTED_QUEUE,
    SUBSCRIBERS,
    SubscriberSpec,
    dispatch_filter,
    rejected_filter,
)
from tests.infra.conftest import STAGE, STREAM_ARNS, Synthesized

FOURTEEN_DAYS = 14 * 24 * 3600
(DISPATCH_SPEC,) = [s for s in SUBSCRIBERS if s.type == "FIFO"]
(REJECTED_SPEC,) = [s for s in SUBSCRIBERS if s.target_queue == REJECTED_QUEUE]


def _arn(synthesized: Synthesized, construct: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [synthesized.logical_id(construct), "Arn"]}


def _bus_arn(synthesized: Synthesized) -> dict[str, Any]:
    return {"Fn::GetAtt": [synthesized.stack.get_logical_id(synthesized.stack.pipeline.bus), "EventBusArn"]}


def _queue(synthesized: Synthesized, construct: Any) -> dict[str, Any]:
    return dict(synthesized.resources[synthesized.logical_id(construct)]["Properties"])


def _subscribers(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """Subscriber name -> its resource (with DependsOn)."""
    return {r["Properties"]["Name"]: r for r in synthesized.of_type("AWS::EventsV2::Subscriber").values()}


def _subscriber(synthesized: Synthesized, spec: SubscriberSpec) -> dict[str, Any]:
    return dict(_subscribers(synthesized)[subscriber_name(spec, STAGE)]["Properties"])


def test_the_bus_is_a_custom_event_bus_that_keeps_events(synthesized: Synthesized) -> None:
    """One EventsV2 bus named after the stage, keeping events BUS_RETENTION_DAYS (redrive window)."""
    (bus,) = synthesized.of_type("AWS::EventsV2::EventBus").values()
    assert bus["Properties"]["Name"] == f"healthcoach-realtime-{STAGE}"
    assert bus["Properties"]["StorageConfiguration"] == {"RetentionPeriodInDays": BUS_RETENTION_DAYS}


def test_the_configured_retention_reaches_the_bus() -> None:
    """``busRetentionDays`` (DeployConfig.bus_retention_days) is the bus's RetentionPeriodInDays."""
    stack = cdk.Stack(cdk.App(), "Retention")
    EventPipeline(stack, "Events", stage=STAGE, retention_days=30)
    Template.from_stack(stack).has_resource_properties(
        "AWS::EventsV2::EventBus", {"StorageConfiguration": {"RetentionPeriodInDays": 30}}
    )


def test_no_classic_bus_or_rule_is_left(synthesized: Synthesized) -> None:
    """No AWS::Events::Rule (so none targets the dispatch queue) and no classic bus."""
    assert synthesized.of_type("AWS::Events::Rule") == {}
    assert synthesized.of_type("AWS::Events::EventBus") == {}


def test_one_subscriber_per_spec_on_the_bus(synthesized: Synthesized) -> None:
    """Every SubscriberSpec is deployed as ``<name>-<stage>-<generation>`` on this bus, nothing else."""
    subscribers = _subscribers(synthesized)
    assert sorted(subscribers) == sorted(subscriber_name(spec, STAGE) for spec in SUBSCRIBERS)
    assert all(s["Properties"]["EventBusArn"] == _bus_arn(synthesized) for s in subscribers.values())


def test_the_fifo_subscriber_feeds_the_dispatch_queue_one_group_per_user(synthesized: Synthesized) -> None:
    """FIFO, DATA filter = dispatch_filter(), to the dispatch queue with MessageGroupId from the event
    group (the user) and MessageDeduplicationId = the bus's event id."""
    subscriber = _subscriber(synthesized, DISPATCH_SPEC)
    pipeline = synthesized.stack.pipeline
    assert subscriber["Type"] == "FIFO"
    filters = subscriber["FilterConfiguration"]
    assert filters["Language"] == "EVENT_BRIDGE_PATTERN"
    ((scope, pattern),) = [(f["Scope"], json.loads(f["Pattern"])) for f in filters["Filters"]]
    assert (scope, pattern) == ("DATA", dispatch_filter())
    invoke = subscriber["InvokeConfiguration"]
    assert invoke["TargetArn"] == _arn(synthesized, pipeline.queue)
    assert invoke["SqsParameters"] == {
        "MessageGroupId": DISPATCH_SPEC.message_group_id,
        "MessageDeduplicationId": '{% $events.SystemMetadata."aws:EventId" %}',
    }
    assert "$events.SystemMetadata.EventGroupId" in invoke["SqsParameters"]["MessageGroupId"]


def test_the_dispatch_filter_takes_exactly_the_schema_files(synthesized: Synthesized) -> None:
    """One detail-type per file in schemas/: the catalogue is the one source of truth."""
    (pattern,) = [
        f["Pattern"] for f in _subscriber(synthesized, DISPATCH_SPEC)["FilterConfiguration"]["Filters"]
    ]
    assert sorted(json.loads(pattern)["detail-type"]) == sorted(p.stem for p in schema_dir().glob("*.json"))


def test_the_fifo_subscriber_retries_then_records_to_the_fifo_delivery_dlq(synthesized: Synthesized) -> None:
    """Bounded retries (the spec's attempts and age, strategy ALL), then the FIFO delivery DLQ."""
    subscriber = _subscriber(synthesized, DISPATCH_SPEC)
    pipeline = synthesized.stack.pipeline
    assert subscriber["RetryPolicy"] == {
        "MaxRetryAttempts": DISPATCH_SPEC.max_retry_attempts,
        "MaxEventAgeInSeconds": DISPATCH_SPEC.max_event_age_seconds,
        "RetryStrategy": "ALL",
    }
    assert subscriber["OnFailureConfiguration"] == {
        "Arn": _arn(synthesized, pipeline.delivery_dead_letter_queue)
    }
    delivery_dlq = _queue(synthesized, pipeline.delivery_dead_letter_queue)
    assert (delivery_dlq["FifoQueue"], delivery_dlq["QueueName"]) == (
        True,
        f"healthcoach-realtime-delivery-dlq-{STAGE}.fifo",
    )


def test_the_rejected_subscriber_keeps_what_matches_no_schema(synthesized: Synthesized) -> None:
    """UNORDERED, DATA filter = rejected_filter(), to the standard rejected queue, on-failure to its
    DLQ; no SqsParameters (a standard queue takes none)."""
    subscriber = _subscriber(synthesized, REJECTED_SPEC)
    pipeline = synthesized.stack.pipeline
    assert subscriber["Type"] == "UNORDERED"
    ((pattern,),) = [[json.loads(f["Pattern"]) for f in subscriber["FilterConfiguration"]["Filters"]]]
    assert pattern == rejected_filter()
    assert subscriber["InvokeConfiguration"]["TargetArn"] == _arn(synthesized, pipeline.rejected_queue)
    assert "SqsParameters" not in subscriber["InvokeConfiguration"]
    assert subscriber["OnFailureConfiguration"] == {
        "Arn": _arn(synthesized, pipeline.rejected_dead_letter_queue)
    }
    for queue in (pipeline.rejected_queue, pipeline.rejected_dead_letter_queue):
        assert "FifoQueue" not in _queue(synthesized, queue)


def test_every_subscriber_starts_live_and_logs_no_payload(synthesized: Synthesized) -> None:
    """StartingPosition LATEST, State RUNNING, delivery logs off (the service cannot log an error
    without the event's payload: health data), delivered with the delivery role."""
    role = _arn(synthesized, synthesized.stack.pipeline.delivery_role)
    for name, subscriber in _subscribers(synthesized).items():
        properties = subscriber["Properties"]
        assert (properties["StartingPosition"], properties["State"]) == ("LATEST", "RUNNING"), name
        assert properties["LogConfiguration"] == {"Level": "OFF"}
        assert properties["InvokeConfiguration"]["RoleArn"] == role


def test_subscribers_are_created_and_deleted_one_at_a_time(synthesized: Synthesized) -> None:
    """A DependsOn chain: EventBridge runs one subscriber create/delete per bus at a time."""
    ids = {synthesized.stack.get_logical_id(s): s for s in synthesized.stack.pipeline.subscribers.values()}
    resources = {logical_id: synthesized.resources[logical_id] for logical_id in ids}
    chain = list(ids)
    assert len(chain) == len(SUBSCRIBERS) >= 2
    assert not set(resources[chain[0]].get("DependsOn", [])) & set(chain)
    for before, after in itertools.pairwise(chain):
        assert set(resources[after].get("DependsOn", [])) & set(chain) == {before}


def _pipeline_template(spec: SubscriberSpec) -> dict[str, Any]:
    """A bare stack with a pipeline of only ``spec``: its subscriber (logical id -> resource)."""
    stack = cdk.Stack(cdk.App(), "Pipeline")
    EventPipeline(stack, "Events", stage=STAGE, subscribers=[spec])
    template = Template.from_stack(stack).to_json()
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::EventsV2::Subscriber"}


def test_a_create_only_change_makes_a_new_subscriber_not_a_replacement() -> None:
    """Changing the type or the target gives a new logical id and name (created before the old one is
    deleted: an overlap, not a gap); changing the filter keeps both (an in-place update)."""
    (original_id, original), *_ = _pipeline_template(DISPATCH_SPEC).items()
    for changed in (
        dataclasses.replace(DISPATCH_SPEC, type="UNORDERED"),
        dataclasses.replace(DISPATCH_SPEC, target_queue=REJECTED_QUEUE),
    ):
        ((new_id, new),) = _pipeline_template(changed).items()
        assert new_id != original_id
        assert new["Properties"]["Name"] != original["Properties"]["Name"]
        assert subscriber_construct_id(changed) != subscriber_construct_id(DISPATCH_SPEC)
    refiltered = dataclasses.replace(DISPATCH_SPEC, filter_pattern={"source": ["healthcoach.food-logs"]})
    ((same_id, same),) = _pipeline_template(refiltered).items()
    assert (same_id, same["Properties"]["Name"]) == (original_id, original["Properties"]["Name"])


def test_the_delivery_role_sends_only_to_the_subscribers_queues(synthesized: Synthesized) -> None:
    """Assumed by events.amazonaws.com from this account only; sqs:SendMessage on exactly the
    subscribers' targets and on-failure queues (not the dispatch DLQ, nothing else)."""
    pipeline = synthesized.stack.pipeline
    role = synthesized.resources[synthesized.logical_id(pipeline.delivery_role)]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Principal"], trust["Action"]) == ({"Service": "events.amazonaws.com"}, "sts:AssumeRole")
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    ((statement,),) = [p["PolicyDocument"]["Statement"] for p in role["Policies"]]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sqs:SendMessage")
    expected = [
        pipeline.queue,
        pipeline.delivery_dead_letter_queue,
        pipeline.rejected_queue,
        pipeline.rejected_dead_letter_queue,
    ]
    assert sorted(statement["Resource"], key=json.dumps) == sorted(
        (_arn(synthesized, q) for q in expected), key=json.dumps
    )
    role_ref = {"Ref": synthesized.logical_id(pipeline.delivery_role)}
    assert not [
        p for p in synthesized.of_type("AWS::IAM::Policy").values() if role_ref in p["Properties"]["Roles"]
    ]


def test_producers_get_a_managed_policy_to_put_events_on_the_bus(synthesized: Synthesized) -> None:
    """``healthcoach-realtime-<stage>-producer``: events:PutEvents on the bus ARN only; its ARN is an
    output. No policy in the stack names an ``eventsv2:`` action (there is none)."""
    policy = synthesized.stack.pipeline.producer_policy
    properties = synthesized.resources[synthesized.logical_id(policy)]["Properties"]
    assert properties["ManagedPolicyName"] == f"healthcoach-realtime-{STAGE}-producer"
    assert properties["PolicyDocument"]["Statement"] == [
        {"Action": "events:PutEvents", "Effect": "Allow", "Resource": _bus_arn(synthesized)}
    ]
    assert synthesized.outputs["ProducerPolicyArn"]["Value"] == {"Ref": synthesized.logical_id(policy)}
    assert "eventsv2:" not in json.dumps(synthesized.resources)


def test_outputs_name_the_bus_for_producers(synthesized: Synthesized) -> None:
    """EventBusArn (EVENT_BUS_ARN) and EventBusName (EVENT_BUS_NAME)."""
    assert synthesized.outputs["EventBusArn"]["Value"] == _bus_arn(synthesized)
    assert synthesized.outputs["EventBusName"]["Value"] == f"healthcoach-realtime-{STAGE}"


def test_the_dispatch_queue_and_its_dlq_are_fifo(synthesized: Synthesized) -> None:
    """FIFO with content-based deduplication, high-throughput mode on the queue (limits per message
    group: per user); names end in .fifo."""
    pipeline = synthesized.stack.pipeline
    queue = _queue(synthesized, pipeline.queue)
    dlq = _queue(synthesized, pipeline.dead_letter_queue)
    for properties in (queue, dlq):
        assert (properties["FifoQueue"], properties["ContentBasedDeduplication"]) == (True, True)
        assert properties["QueueName"].endswith(f"-{STAGE}.fifo")
    assert (queue["DeduplicationScope"], queue["FifoThroughputLimit"]) == (
        "messageGroup",
        "perMessageGroupId",
    )


def test_the_dispatch_queue_redrives_to_the_dlq(synthesized: Synthesized) -> None:
    """After MAX_RECEIVE_COUNT receives a message moves to the DLQ; visibility as resources says."""
    pipeline = synthesized.stack.pipeline
    queue = _queue(synthesized, pipeline.queue)
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": _arn(synthesized, pipeline.dead_letter_queue),
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    }
    assert queue["VisibilityTimeout"] == DISPATCH_VISIBILITY_TIMEOUT_SECONDS


def test_dead_letter_queues_keep_messages_fourteen_days(synthesized: Synthesized) -> None:
    """Every DLQ (dispatch, delivery, rejected, stream bridge) keeps messages the SQS maximum."""
    for name, queue in synthesized.stack.pipeline.dead_letter_queues.items():
        assert _queue(synthesized, queue)["MessageRetentionPeriod"] == FOURTEEN_DAYS, name


def test_every_queue_is_encrypted_at_rest(synthesized: Synthesized) -> None:
    """SSE-SQS on all six queues: dispatch and its DLQ, delivery DLQ, rejected and its DLQ, stream bridge."""
    queues = synthesized.of_type("AWS::SQS::Queue").values()
    assert len(queues) == 6
    assert all(q["Properties"].get("SqsManagedSseEnabled") is True for q in queues)


def test_every_queue_refuses_plain_http_and_grants_nothing(synthesized: Synthesized) -> None:
    """Each queue policy only denies requests without TLS: delivery goes through the role."""
    statements = [
        s
        for p in synthesized.of_type("AWS::SQS::QueuePolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert len(statements) == 6
    assert all(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_the_dispatcher_reports_batch_item_failures(synthesized: Synthesized) -> None:
    """SQS -> dispatcher in batches of 10 with ReportBatchItemFailures and a concurrency cap."""
    stack = synthesized.stack
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": _arn(synthesized, stack.pipeline.queue),
            "FunctionName": {"Ref": synthesized.logical_id(stack.dispatcher.function)},
            "BatchSize": 10,
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
    failures = _arn(synthesized, synthesized.stack.pipeline.stream_bridge_failures)
    for mapping in _stream_mappings(synthesized):
        assert mapping["BisectBatchOnFunctionError"] is True
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": failures}}
        assert 0 <= mapping["MaximumRetryAttempts"] <= 10
        assert mapping["MaximumRecordAgeInSeconds"] > 0
