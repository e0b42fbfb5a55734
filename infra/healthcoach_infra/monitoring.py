"""Alarms and a dashboard: is anything being lost, and how fast do events reach browsers.

Custom metrics are the handlers' (``observability.MetricName``, namespace ``HealthCoachRealtime``,
dimension ``service`` = ``healthcoach-realtime-<stage>``), published by Powertools as embedded
metric format log lines. The bus's subscribers report in ``AWS/EventsV2`` with the dimensions
``EventBus`` and ``Subscriber`` (both ARNs), as the EventBridge User Guide's Custom Event Bus
observability page documents.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from healthcoach_realtime.observability import NAMESPACE, MetricName, service_name

__all__ = [
    "DELIVERY_FAILURES_THRESHOLD",
    "SUBSCRIBER_NAMESPACE",
    "Monitoring",
    "custom_metric",
    "subscriber_metric",
]

# Per 5 minutes. Single failures are retried by SQS redelivery; what keeps failing reaches the
# DLQ, which alarms on its first message. This one catches a sustained delivery problem early.
DELIVERY_FAILURES_THRESHOLD = 10
_FIVE_MINUTES = cdk.Duration.minutes(5)
SUBSCRIBER_NAMESPACE = "AWS/EventsV2"


def custom_metric(
    name: str, *, stage: str, statistic: str = "Sum", label: str | None = None
) -> cloudwatch.Metric:
    """A metric one stage's handlers publish through Powertools."""
    return _metric(NAMESPACE, name, {"service": service_name(stage)}, statistic=statistic, label=label)


def subscriber_metric(
    name: str, *, bus_arn: str, subscriber_arn: str, label: str | None = None
) -> cloudwatch.Metric:
    """A metric EventBridge publishes for one subscriber of the bus (summed per 5 minutes)."""
    dimensions = {"EventBus": bus_arn, "Subscriber": subscriber_arn}
    return _metric(SUBSCRIBER_NAMESPACE, name, dimensions, label=label)


def _metric(
    namespace: str, name: str, dimensions: dict[str, str], *, statistic: str = "Sum", label: str | None = None
) -> cloudwatch.Metric:
    """A metric per 5 minutes: the period every alarm and graph here reads."""
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=_FIVE_MINUTES,
        label=label,
    )


class Monitoring(Construct):
    """Alarms to an SNS topic (optionally e-mailed) and one dashboard for the whole path."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        functions: Mapping[str, lambda_.IFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        dispatch_queue: sqs.IQueue,
        rejected_queue: sqs.IQueue,
        bus_arn: str,
        subscribers: Mapping[str, str],
        api: apigwv2.IWebSocketApi,
        alarm_email: str = "",
        scheduled: Mapping[str, lambda_.IFunction] | None = None,
    ) -> None:
        """``subscribers``: each subscriber of the bus by name -> its ARN; ``scheduled``: functions
        a schedule invokes every minute (each alarms when it has not run for 5 minutes)."""
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name=f"healthcoach-realtime {stage} alarms", enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name}Depth",
                queue.metric_approximate_number_of_messages_visible(
                    period=cdk.Duration.minutes(1), statistic="Maximum"
                ),
                threshold=1,
                description=f"Undelivered events are waiting in {name}: inspect, fix, redrive",
            )
        self._alarm(
            "RejectedEventsDepth",
            rejected_queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(1), statistic="Maximum"
            ),
            threshold=1,
            description="healthcoach.* events of an unknown type or source reached the bus: they reach no "
            "browser; inspect the rejected queue (which producer, which schema), then purge it",
        )
        for name, subscriber_arn in subscribers.items():
            self._alarm(
                f"{_construct_name(name)}EventsDropped",
                subscriber_metric("EventsDropped", bus_arn=bus_arn, subscriber_arn=subscriber_arn),
                threshold=1,
                description=f"The subscriber {name} dropped events: not delivered and not recorded in its "
                "on-failure queue either (redrive them from the bus's retention)",
            )
        for name, function in functions.items():
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=_FIVE_MINUTES),
                threshold=1,
                description=f"The {name} function failed (an unhandled error)",
            )
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=_FIVE_MINUTES),
                threshold=1,
                description=f"The {name} function was throttled",
            )
        self._alarm(
            "DeliveryFailures",
            custom_metric(MetricName.DELIVERY_FAILURES, stage=stage),
            threshold=DELIVERY_FAILURES_THRESHOLD,
            description="The dispatcher keeps failing to post to connections (not 410 Gone)",
        )
        for name, function in (scheduled or {}).items():
            self._alarm(
                f"{name}NotRunning",
                function.metric_invocations(period=_FIVE_MINUTES),
                threshold=1,
                description=f"The {name} function has not run for 5 minutes (its schedule is disabled, "
                "deleted or failing): expired sessions stay open (they still receive nothing)",
                below=True,
            )
        self._alarm(
            "HandlerFailures",
            custom_metric(MetricName.HANDLER_FAILURES, stage=stage),
            threshold=1,
            description="$connect or $disconnect answered 500 (configuration or AWS trouble, not the client)",
        )
        # What a subscriber cannot deliver after its retries lands in its on-failure queue, alarmed above.
        queues = {"queued": dispatch_queue, "rejected": rejected_queue, **dead_letter_queues}
        self.dashboard = self._dashboard(stage, functions, queues, bus_arn, subscribers, api)

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        below: bool = False,
    ) -> None:
        """At or above ``threshold`` (no data: fine); ``below``: under it, and no data is a breach."""
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=(
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
                if below
                else cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            ),
            treat_missing_data=(
                cloudwatch.TreatMissingData.BREACHING if below else cloudwatch.TreatMissingData.NOT_BREACHING
            ),
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm

    def _dashboard(
        self,
        stage: str,
        functions: Mapping[str, lambda_.IFunction],
        queues: Mapping[str, sqs.IQueue],
        bus_arn: str,
        subscribers: Mapping[str, str],
        api: apigwv2.IWebSocketApi,
    ) -> cloudwatch.Dashboard:
        def ours(labels: Mapping[str, str]) -> list[cloudwatch.IMetric]:
            """Our metrics, each with its label in the graph."""
            return [custom_metric(name, stage=stage, label=label) for name, label in labels.items()]

        def api_metric(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return _metric("AWS/ApiGateway", name, {"ApiId": api.api_id, "Stage": stage}, statistic=statistic)

        def of_subscribers(name: str) -> list[cloudwatch.IMetric]:
            return [
                subscriber_metric(name, bus_arn=bus_arn, subscriber_arn=arn, label=f"{name} ({sub})")
                for sub, arn in subscribers.items()
            ]

        def graph(
            title: str, left: list[cloudwatch.IMetric], right: list[cloudwatch.IMetric] | None = None
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=left, right=right or [], width=12, height=6)

        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"healthcoach-realtime-{stage}")
        dashboard.add_widgets(
            graph(
                "Connections",
                ours(
                    {
                        MetricName.CONNECTIONS_OPENED: "opened",
                        MetricName.CONNECTIONS_CLOSED: "closed",
                        MetricName.AUTH_FAILURES: "refused (auth)",
                    }
                ),
                [api_metric("ConnectCount")],
            ),
            graph(
                "Events",
                [
                    *of_subscribers("FilterMatched"),
                    *ours(
                        {
                            MetricName.EVENTS_EMITTED: "emitted by the stream bridge",
                            MetricName.EVENTS_DISPATCHED: "dispatched",
                            MetricName.INVALID_EVENTS: "invalid (dead-lettered)",
                            MetricName.DROPPED_ATTRIBUTES: "item attributes left out (bridge)",
                        }
                    ),
                ],
                [q.metric_approximate_number_of_messages_visible(label=n) for n, q in queues.items()],
            ),
        )
        dashboard.add_widgets(
            graph(
                "Subscriber deliveries",
                [*of_subscribers("EventsDelivered"), *of_subscribers("EventDeliveryAttempts")],
                [*of_subscribers("OnFailureDestinationDelivered"), *of_subscribers("EventsDropped")],
            ),
            graph("Oldest queued event (s)", [queues["queued"].metric_approximate_age_of_oldest_message()]),
        )
        dashboard.add_widgets(
            graph(
                "Messages",
                ours(
                    {
                        MetricName.MESSAGES_SENT: "sent",
                        MetricName.DELIVERY_FAILURES: "failed",
                        MetricName.STALE_CONNECTIONS_REMOVED: "stale removed",
                    }
                ),
                [api_metric("MessageCount")],
            ),
            graph(
                "Latency (ms)",
                [api_metric("IntegrationLatency", "p99")],
                [f.metric_duration(statistic="p99", label=f"{n} p99") for n, f in functions.items()],
            ),
        )
        dashboard.add_widgets(
            graph(
                "Sessions",
                ours(
                    {
                        MetricName.SESSIONS_REFRESHED: "refreshed (auth)",
                        MetricName.REFRESH_FAILURES: "refresh refused",
                        MetricName.SESSIONS_EXPIRED: "closed at exp (sweeper)",
                        MetricName.DELIVERIES_EXPIRED: "deliveries skipped after exp",
                    }
                ),
                ours(
                    {
                        MetricName.CONNECTIONS_REFUSED: "refused (per-user limit)",
                        MetricName.MESSAGES_RATE_LIMITED: "messages rate limited",
                        MetricName.CONNECTIONS_CLOSED_FOR_ABUSE: "closed for abuse",
                    }
                ),
            ),
            graph(
                "Function errors and throttles",
                [f.metric_errors(label=f"{n} errors") for n, f in functions.items()],
                [f.metric_throttles(label=f"{n} throttles") for n, f in functions.items()],
            ),
        )
        return dashboard


def _construct_name(name: str) -> str:
    """``healthcoach-realtime-dispatch`` -> ``HealthcoachRealtimeDispatch`` (an alarm's construct id)."""
    return "".join(part.capitalize() for part in name.split("-"))
