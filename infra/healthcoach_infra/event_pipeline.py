"""bus -> rules (patterns from the catalogue) -> encrypted FIFO queue (+DLQ) -> dispatcher;
streams -> bridge.

A user's events stay in order: each rule sends one shard of users (``detail.shard``, set by
``emit``) to its own message group of the FIFO queue, and Lambda dispatches a group's batches one
at a time; the 17 groups run concurrently. Names, patterns and settings come from
``healthcoach_realtime.resources``, which the local stack provisions too, so a test that passes
locally ran against the same patterns, groups, redrive and visibility timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from healthcoach_realtime.resources import (
    DISPATCH_DLQ,
    DISPATCH_QUEUE,
    DISPATCH_RULE,
    DISPATCH_VISIBILITY_TIMEOUT_SECONDS,
    MAX_RECEIVE_COUNT,
    dispatch_routes,
    staged_queue_name,
)
from healthcoach_realtime.settings import DEFAULT_EVENT_BUS

__all__ = ["RULE_DEAD_LETTERS", "STREAM_BRIDGE_FAILURES", "EventPipeline", "event_pattern"]

STREAM_BRIDGE_FAILURES = "healthcoach-realtime-stream-bridge-failures"
# What EventBridge could not put on the dispatch queue (an EventBridge DLQ must be a standard queue).
RULE_DEAD_LETTERS = "healthcoach-realtime-dispatch-rule-dlq"
# EventBridge pattern keys -> EventPattern's keyword arguments.
_PATTERN_KEYS = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "id": "id",
    "time": "time",
    "version": "version",
}


def event_pattern(pattern: Mapping[str, Any]) -> events.EventPattern:
    """The CDK form of an EventBridge pattern given as JSON (``resources.dispatch_rule_pattern()``)."""
    unknown = set(pattern) - set(_PATTERN_KEYS)
    if unknown:
        raise ValueError(f"not an EventBridge pattern key: {', '.join(sorted(unknown))}")
    return events.EventPattern(**{_PATTERN_KEYS[key]: value for key, value in pattern.items()})


def _queue(scope: Construct, construct_id: str, name: str, **options: Any) -> sqs.Queue:
    """Encrypted at rest (SSE-SQS: EventBridge can write to it without a key policy), TLS only."""
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        **options,
    )


class EventPipeline(Construct):
    """The bus, the dispatch rule and queue with its DLQ, and the stream bridge's failure queue."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{DEFAULT_EVENT_BUS}-{stage}")
        fifo: dict[str, Any] = {"fifo": True, "content_based_deduplication": True}
        self.dead_letter_queue = _queue(
            self,
            "DispatchDeadLetters",
            staged_queue_name(DISPATCH_DLQ, stage),
            retention_period=cdk.Duration.days(14),
            **fifo,
        )
        self.queue = _queue(
            self,
            "DispatchQueue",
            staged_queue_name(DISPATCH_QUEUE, stage),
            visibility_timeout=cdk.Duration.seconds(DISPATCH_VISIBILITY_TIMEOUT_SECONDS),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letter_queue
            ),
            # High-throughput FIFO: the limits apply per message group, not per queue.
            deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP,
            fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            **fifo,
        )
        self.rule_dead_letter_queue = _queue(
            self,
            "DispatchRuleDeadLetters",
            f"{RULE_DEAD_LETTERS}-{stage}",
            retention_period=cdk.Duration.days(14),
        )
        self.rules: dict[str, events.Rule] = {}
        for route in dispatch_routes():
            self.rules[route.name] = events.Rule(
                self,
                f"DispatchRule-{route.name}",
                rule_name=f"{DISPATCH_RULE}-{stage}-{route.name}",
                description=f"Domain events of the catalogue (schemas/) to message group {route.name}",
                event_bus=self.bus,
                event_pattern=event_pattern(route.pattern),
                targets=[
                    targets.SqsQueue(
                        self.queue,
                        message_group_id=route.name,
                        # An event EventBridge cannot put on the queue is parked here, same envelope.
                        dead_letter_queue=self.rule_dead_letter_queue,
                    )
                ],
            )
        # The stream bridge's own dead letters and its event source mappings' on-failure records.
        self.stream_bridge_failures = _queue(
            self,
            "StreamBridgeFailures",
            f"{STREAM_BRIDGE_FAILURES}-{stage}",
            retention_period=cdk.Duration.days(14),
        )

    @property
    def dead_letter_queues(self) -> Mapping[str, sqs.IQueue]:
        """Every queue whose depth means an event was not delivered."""
        return {
            "DispatchDeadLetters": self.dead_letter_queue,
            "DispatchRuleDeadLetters": self.rule_dead_letter_queue,
            "StreamBridgeFailures": self.stream_bridge_failures,
        }

    def feed_dispatcher(self, dispatcher: lambda_.IFunction, *, max_concurrency: int) -> None:
        """SQS -> dispatcher, batches of up to 10 without waiting (latency matters more here; a
        FIFO queue allows no batching window anyway).

        ``max_concurrency`` caps the concurrent dispatchers, which protects the account-wide
        @connections rate and the connections table without reserving account concurrency
        (reserved concurrency on an SQS consumer throttles receives into the DLQ).
        """
        dispatcher.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=10,
                report_batch_item_failures=True,
                max_concurrency=max_concurrency,
            )
        )

    def feed_stream_bridge(self, bridge: lambda_.IFunction, stream_arns: Mapping[str, str]) -> None:
        """One mapping per data table stream; a poison record is isolated by bisection, then parked.

        Retries are bounded, so one bad record cannot hold its shard for the stream's 24 hours;
        what still fails goes to ``stream_bridge_failures`` (its batch's shard and sequence
        numbers, enough to replay it).
        """
        for table_name, stream_arn in sorted(stream_arns.items()):
            table = dynamodb.Table.from_table_attributes(
                self, f"DataTable-{table_name}", table_name=table_name, table_stream_arn=stream_arn
            )
            bridge.add_event_source(
                sources.DynamoEventSource(
                    table,
                    starting_position=lambda_.StartingPosition.LATEST,
                    batch_size=100,
                    bisect_batch_on_error=True,
                    retry_attempts=3,
                    max_record_age=cdk.Duration.hours(1),
                    report_batch_item_failures=True,
                    on_failure=sources.SqsDlq(self.stream_bridge_failures),
                )
            )
