"""bus -> rule (pattern from the catalogue) -> encrypted queue (+DLQ) -> dispatcher; streams -> bridge.

Names and settings come from ``healthcoach_realtime.resources``, which the local stack provisions
too, so a test that passes locally ran against the same pattern, redrive and visibility timeout.
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
    dispatch_rule_pattern,
)
from healthcoach_realtime.settings import DEFAULT_EVENT_BUS

__all__ = ["STREAM_BRIDGE_FAILURES", "EventPipeline", "event_pattern"]

STREAM_BRIDGE_FAILURES = "healthcoach-realtime-stream-bridge-failures"
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
        self.dead_letter_queue = _queue(
            self, "DispatchDeadLetters", f"{DISPATCH_DLQ}-{stage}", retention_period=cdk.Duration.days(14)
        )
        self.queue = _queue(
            self,
            "DispatchQueue",
            f"{DISPATCH_QUEUE}-{stage}",
            visibility_timeout=cdk.Duration.seconds(DISPATCH_VISIBILITY_TIMEOUT_SECONDS),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letter_queue
            ),
        )
        self.rule = events.Rule(
            self,
            "DispatchRule",
            rule_name=f"{DISPATCH_RULE}-{stage}",
            description="Every domain event of the catalogue (schemas/) to the dispatch queue",
            event_bus=self.bus,
            event_pattern=event_pattern(dispatch_rule_pattern()),
            # An event EventBridge cannot put on the queue lands in the same DLQ, same envelope.
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dead_letter_queue)],
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
            "StreamBridgeFailures": self.stream_bridge_failures,
        }

    def feed_dispatcher(self, dispatcher: lambda_.IFunction, *, max_concurrency: int) -> None:
        """SQS -> dispatcher, batches of up to 10 without waiting (latency matters more here).

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
