"""Alarms and a dashboard: is anything being lost, and how fast do events reach browsers.

Custom metrics are the handlers' (``observability.MetricName``, namespace ``HealthCoachRealtime``,
dimension ``service`` = ``healthcoach-realtime-<stage>``), published by Powertools as embedded
metric format log lines.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from healthcoach_realtime.observability import NAMESPACE, MetricName, service_name

__all__ = ["DELIVERY_FAILURES_THRESHOLD", "Monitoring", "custom_metric"]

# Per 5 minutes. Single failures are retried by SQS redelivery; what keeps failing reaches the
# DLQ, which alarms on its first message. This one catches a sustained delivery problem early.
DELIVERY_FAILURES_THRESHOLD = 10
_FIVE_MINUTES = cdk.Duration.minutes(5)


def custom_metric(
    name: str, *, stage: str, statistic: str = "Sum", label: str | None = None
) -> cloudwatch.Metric:
    """A metric one stage's handlers publish through Powertools."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service_name(stage)},
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
        rules: Mapping[str, events.IRule],
        bus: events.IEventBus,
        api: apigwv2.IWebSocketApi,
        alarm_email: str = "",
    ) -> None:
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
        self._alarm(
            "HandlerFailures",
            custom_metric(MetricName.HANDLER_FAILURES, stage=stage),
            threshold=1,
            description="$connect or $disconnect answered 500 (configuration or AWS trouble, not the client)",
        )
        # EventBridge's failed puts on the dispatch queue end in the rules' DLQ, alarmed above.
        self.dashboard = self._dashboard(
            stage, functions, dispatch_queue, dead_letter_queues, rules, bus, api
        )

    def _alarm(self, name: str, metric: cloudwatch.IMetric, *, threshold: float, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm

    def _dashboard(
        self,
        stage: str,
        functions: Mapping[str, lambda_.IFunction],
        dispatch_queue: sqs.IQueue,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        rules: Mapping[str, events.IRule],
        bus: events.IEventBus,
        api: apigwv2.IWebSocketApi,
    ) -> cloudwatch.Dashboard:
        def ours(name: str, *, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
            return custom_metric(name, stage=stage, statistic=statistic, label=label)

        def api_metric(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name=name,
                dimensions_map={"ApiId": api.api_id, "Stage": stage},
                statistic=statistic,
                period=_FIVE_MINUTES,
            )

        def rule_metric(name: str) -> cloudwatch.IMetric:
            """``name`` summed over the dispatch rules (one per message group)."""
            per_rule = {
                f"r{n}": cloudwatch.Metric(
                    namespace="AWS/Events",
                    metric_name=name,
                    dimensions_map={"EventBusName": bus.event_bus_name, "RuleName": rule.rule_name},
                    statistic="Sum",
                    period=_FIVE_MINUTES,
                )
                for n, rule in enumerate(rules.values())
            }
            return cloudwatch.MathExpression(
                expression=" + ".join(per_rule), using_metrics=per_rule, label=name, period=_FIVE_MINUTES
            )

        def graph(
            title: str, left: list[cloudwatch.IMetric], right: list[cloudwatch.IMetric] | None = None
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=left, right=right or [], width=12, height=6)

        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"healthcoach-realtime-{stage}")
        dashboard.add_widgets(
            graph(
                "Connections",
                [
                    ours(MetricName.CONNECTIONS_OPENED, label="opened"),
                    ours(MetricName.CONNECTIONS_CLOSED, label="closed"),
                    ours(MetricName.AUTH_FAILURES, label="refused (auth)"),
                ],
                [api_metric("ConnectCount")],
            ),
            graph(
                "Events",
                [
                    rule_metric("MatchedEvents"),
                    ours(MetricName.EVENTS_DISPATCHED, label="dispatched"),
                    ours(MetricName.INVALID_EVENTS, label="invalid (dead-lettered)"),
                ],
                [
                    dispatch_queue.metric_approximate_number_of_messages_visible(label="queued"),
                    *(
                        q.metric_approximate_number_of_messages_visible(label=n)
                        for n, q in dead_letter_queues.items()
                    ),
                ],
            ),
        )
        dashboard.add_widgets(
            graph(
                "Messages",
                [
                    ours(MetricName.MESSAGES_SENT, label="sent"),
                    ours(MetricName.DELIVERY_FAILURES, label="failed"),
                    ours(MetricName.STALE_CONNECTIONS_REMOVED, label="stale removed"),
                ],
                [api_metric("MessageCount")],
            ),
            graph(
                "Latency (ms)",
                [
                    ours(MetricName.DELIVERY_LATENCY, statistic="p50", label="delivery p50"),
                    ours(MetricName.DELIVERY_LATENCY, statistic="p99", label="delivery p99"),
                    api_metric("IntegrationLatency", "p99"),
                ],
                [f.metric_duration(statistic="p99", label=f"{n} p99") for n, f in functions.items()],
            ),
        )
        dashboard.add_widgets(
            graph(
                "Function errors and throttles",
                [f.metric_errors(label=f"{n} errors") for n, f in functions.items()],
                [f.metric_throttles(label=f"{n} throttles") for n, f in functions.items()],
            ),
            graph("Oldest queued event (s)", [dispatch_queue.metric_approximate_age_of_oldest_message()]),
        )
        return dashboard
