"""producers -> Custom Event Bus (EventsV2) -> subscribers -> SQS queues -> dispatcher; streams -> bridge.

A user's events stay in order: producers publish with ``EventGroupId`` = the user, the FIFO
subscriber delivers each group in order to the FIFO dispatch queue with ``MessageGroupId`` = that
group, and Lambda dispatches one batch per message group at a time. Classic EventBridge rules give
no delivery order; this subscriber does, per event group.

Subscribers, queue names and settings come from ``healthcoach_realtime.resources``, which the local
stack provisions too, so a test that passes locally ran against the same filters, message groups,
redrive and visibility timeout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_eventsv2 as eventsv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from healthcoach_realtime.resources import (
    BUS_RETENTION_DAYS,
    DELIVERY_DLQ,
    DISPATCH_DLQ,
    DISPATCH_QUEUE,
    DISPATCH_VISIBILITY_TIMEOUT_SECONDS,
    MAX_RECEIVE_COUNT,
    REJECTED_DLQ,
    REJECTED_QUEUE,
    SUBSCRIBERS,
    SubscriberSpec,
    staged_queue_name,
)
from healthcoach_realtime.settings import DEFAULT_EVENT_BUS

__all__ = [
    "PUT_EVENTS",
    "STREAM_BRIDGE_FAILURES",
    "SUBSCRIBER_LOG_CONFIGURATION",
    "EventPipeline",
    "subscriber_construct_id",
    "subscriber_name",
]

STREAM_BRIDGE_FAILURES = "healthcoach-realtime-stream-bridge-failures"
# The IAM action of the Custom Event Bus's PutEvents ("eventsv2:PutEvents" does not exist).
PUT_EVENTS = "events:PutEvents"
# No delivery logs: IncludePayload has no "never" (ON_ERROR_ONLY still writes the event, health
# data, into every error record). A failed delivery shows as EventsDropped (alarmed) and as its
# ids in the on-failure queue (alarmed), never with its payload.
SUBSCRIBER_LOG_CONFIGURATION = {"level": "OFF"}
_DEAD_LETTER_RETENTION = cdk.Duration.days(14)


def subscriber_name(spec: SubscriberSpec, stage: str) -> str:
    """``<name>-<stage>-<generation>``: a change of a create-only property makes a new name."""
    return f"{spec.name}-{stage}-{spec.generation()}"


def subscriber_construct_id(spec: SubscriberSpec) -> str:
    """The construct id carries the generation too, so such a change is a new logical resource.

    CloudFormation then creates the new subscriber in the update phase and deletes the old one
    in the cleanup phase: an overlap, not the gap of a replacement (delete, then create).
    """
    return f"Subscriber-{spec.name}-{spec.generation()}"


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
    """The bus, its subscribers and their queues (with DLQs), the producers' policy, and the
    stream bridge's failure queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        retention_days: int = BUS_RETENTION_DAYS,
        subscribers: Iterable[SubscriberSpec] = SUBSCRIBERS,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus_name = f"{DEFAULT_EVENT_BUS}-{stage}"
        self.bus = eventsv2.CfnEventBus(
            self,
            "Bus",
            name=self.bus_name,
            description="HealthCoach Realtime domain events, published with EventGroupId = the user",
            storage_configuration=eventsv2.CfnEventBus.StorageConfigurationProperty(
                retention_period_in_days=retention_days
            ),
        )
        self.bus_arn = self.bus.attr_event_bus_arn
        self._build_queues(stage)
        self.subscriber_specs = tuple(subscribers)
        self.delivery_role = self._delivery_role()
        self.subscribers = self._subscribers(stage)
        self.producer_policy = iam.ManagedPolicy(
            self,
            "ProducerPolicy",
            managed_policy_name=f"{DEFAULT_EVENT_BUS}-{stage}-producer",
            description=f"Publish HealthCoach Realtime events: {PUT_EVENTS} on the bus {self.bus_name}",
            statements=[iam.PolicyStatement(actions=[PUT_EVENTS], resources=[self.bus_arn])],
        )
        # The stream bridge's own dead letters and its event source mappings' on-failure records.
        self.stream_bridge_failures = _queue(
            self,
            "StreamBridgeFailures",
            f"{STREAM_BRIDGE_FAILURES}-{stage}",
            retention_period=_DEAD_LETTER_RETENTION,
        )

    def _build_queues(self, stage: str) -> None:
        fifo: dict[str, Any] = {"fifo": True, "content_based_deduplication": True}
        self.dead_letter_queue = _queue(
            self,
            "DispatchDeadLetters",
            staged_queue_name(DISPATCH_DLQ, stage),
            retention_period=_DEAD_LETTER_RETENTION,
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
            # High-throughput FIFO: the limits apply per message group (per user), not per queue.
            deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP,
            fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            **fifo,
        )
        # The FIFO subscriber's on-failure destination must be FIFO too (EventBridge sets each
        # record's group from the event's); the records carry ids, no payload.
        self.delivery_dead_letter_queue = _queue(
            self,
            "DeliveryDeadLetters",
            staged_queue_name(DELIVERY_DLQ, stage),
            retention_period=_DEAD_LETTER_RETENTION,
            **fifo,
        )
        # Nothing consumes it: kept for inspection, counted by its depth, alarmed.
        self.rejected_queue = _queue(
            self,
            "Rejected",
            staged_queue_name(REJECTED_QUEUE, stage),
            retention_period=_DEAD_LETTER_RETENTION,
        )
        self.rejected_dead_letter_queue = _queue(
            self,
            "RejectedDeadLetters",
            staged_queue_name(REJECTED_DLQ, stage),
            retention_period=_DEAD_LETTER_RETENTION,
        )
        self.queues: dict[str, sqs.Queue] = {
            DISPATCH_QUEUE: self.queue,
            DISPATCH_DLQ: self.dead_letter_queue,
            DELIVERY_DLQ: self.delivery_dead_letter_queue,
            REJECTED_QUEUE: self.rejected_queue,
            REJECTED_DLQ: self.rejected_dead_letter_queue,
        }

    def _queue_for(self, name: str) -> sqs.Queue:
        try:
            return self.queues[name]
        except KeyError:
            raise ValueError(
                f"a subscriber names queue {name!r}, which this pipeline does not define"
            ) from None

    def _delivery_role(self) -> iam.Role:
        """Assumed by EventBridge for this account only; may send to exactly the subscribers' queues.

        The permission is inline, part of the role resource itself: a subscriber (which refers to
        the role's ARN) is created only once its role can already deliver.
        """
        names = [
            name for spec in self.subscriber_specs for name in (spec.target_queue, spec.on_failure_queue)
        ]
        arns = [self._queue_for(name).queue_arn for name in dict.fromkeys(names)]
        return iam.Role(
            self,
            "DeliveryRole",
            description="EventBridge subscribers of the HealthCoach Realtime bus deliver to their queues",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
            ),
            inline_policies={
                "SendToSubscriberQueues": iam.PolicyDocument(
                    statements=[iam.PolicyStatement(actions=["sqs:SendMessage"], resources=arns)]
                )
            },
        )

    def _subscribers(self, stage: str) -> dict[str, eventsv2.CfnSubscriber]:
        """One subscriber per spec, chained by DependsOn.

        EventBridge runs one subscriber create or delete at a time per bus (another gets
        ConcurrentModificationException), so CloudFormation must not run them in parallel.
        """
        built: dict[str, eventsv2.CfnSubscriber] = {}
        previous: eventsv2.CfnSubscriber | None = None
        for spec in self.subscriber_specs:
            subscriber = self._subscriber(spec, stage)
            if previous is not None:
                subscriber.add_dependency(previous)
            built[spec.name] = subscriber
            previous = subscriber
        return built

    def _subscriber(self, spec: SubscriberSpec, stage: str) -> eventsv2.CfnSubscriber:
        sqs_parameters = None
        if spec.message_group_id is not None or spec.deduplication_id is not None:
            sqs_parameters = eventsv2.CfnSubscriber.SqsParametersProperty(
                message_group_id=spec.message_group_id, message_deduplication_id=spec.deduplication_id
            )
        return eventsv2.CfnSubscriber(
            self,
            subscriber_construct_id(spec),
            name=subscriber_name(spec, stage),
            description=spec.description or None,
            event_bus_arn=self.bus_arn,
            type=spec.type,
            starting_position="LATEST",
            state="RUNNING",
            filter_configuration=eventsv2.CfnSubscriber.FilterConfigurationProperty(
                language="EVENT_BRIDGE_PATTERN",
                filters=[eventsv2.CfnSubscriber.FilterProperty(pattern=spec.filter_json, scope="DATA")],
            ),
            invoke_configuration=eventsv2.CfnSubscriber.InvokeConfigurationProperty(
                role_arn=self.delivery_role.role_arn,
                target_arn=self._queue_for(spec.target_queue).queue_arn,
                sqs_parameters=sqs_parameters,
            ),
            retry_policy=eventsv2.CfnSubscriber.RetryPolicyProperty(
                max_retry_attempts=spec.max_retry_attempts,
                max_event_age_in_seconds=spec.max_event_age_seconds,
                retry_strategy="ALL",
            ),
            on_failure_configuration=eventsv2.CfnSubscriber.OnFailureConfigurationProperty(
                arn=self._queue_for(spec.on_failure_queue).queue_arn
            ),
            log_configuration=eventsv2.CfnSubscriber.LogConfigurationProperty(**SUBSCRIBER_LOG_CONFIGURATION),
        )

    @property
    def dead_letter_queues(self) -> Mapping[str, sqs.IQueue]:
        """Every queue whose depth means an event was not delivered."""
        return {
            "DispatchDeadLetters": self.dead_letter_queue,
            "DeliveryDeadLetters": self.delivery_dead_letter_queue,
            "RejectedDeadLetters": self.rejected_dead_letter_queue,
            "StreamBridgeFailures": self.stream_bridge_failures,
        }

    def grant_put_events(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a function of this stack publish to the bus (``events:PutEvents`` on its ARN only)."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=[PUT_EVENTS], resource_arns=[self.bus_arn])

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
