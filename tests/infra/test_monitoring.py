"""Operations: alarms on lost events, failing or throttled functions, delivery failures; a dashboard."""

from __future__ import annotations

import json
from typing import Any

from healthcoach_infra.monitoring import DELIVERY_FAILURES_THRESHOLD
from healthcoach_realtime.observability import NAMESPACE, MetricName, service_name
from tests.infra.conftest import STAGE, Synthesized


def _alarms(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [a["Properties"] for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()]


def test_each_dead_letter_queue_alarms_on_its_first_message(synthesized: Synthesized) -> None:
    """Dispatch DLQ, the rules' DLQ and stream-bridge failure queue: alarm at one visible message."""
    pipeline = synthesized.stack.pipeline
    watched = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in _alarms(synthesized)
        if a["MetricName"] == "ApproximateNumberOfMessagesVisible" and a["Threshold"] == 1
    }
    assert watched == {
        synthesized.logical_id(pipeline.dead_letter_queue),
        synthesized.logical_id(pipeline.rule_dead_letter_queue),
        synthesized.logical_id(pipeline.stream_bridge_failures),
    }


def test_every_function_alarms_on_errors_and_throttles(synthesized: Synthesized) -> None:
    """An Errors and a Throttles alarm per function."""
    functions = {synthesized.logical_id(f.function) for f in synthesized.functions().values()}
    for metric in ("Errors", "Throttles"):
        watched = {
            a["Dimensions"][0]["Value"]["Ref"]
            for a in _alarms(synthesized)
            if a["Namespace"] == "AWS/Lambda" and a["MetricName"] == metric
        }
        assert watched == functions


def test_dispatcher_delivery_failures_alarm(synthesized: Synthesized) -> None:
    """The handlers' DeliveryFailures metric (namespace, service dimension) has an alarm."""
    (alarm,) = [a for a in _alarms(synthesized) if a["MetricName"] == MetricName.DELIVERY_FAILURES]
    assert (alarm["Namespace"], alarm["Dimensions"], alarm["Threshold"]) == (
        NAMESPACE,
        [{"Name": "service", "Value": service_name(STAGE)}],
        DELIVERY_FAILURES_THRESHOLD,
    )


def test_every_alarm_notifies_the_topic(synthesized: Synthesized) -> None:
    """Each alarm's action is the alarm topic, which the configured address subscribes to."""
    topic = {"Ref": synthesized.logical_id(synthesized.stack.monitoring.topic)}
    assert all(a["AlarmActions"] == [topic] for a in _alarms(synthesized))
    synthesized.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com", "TopicArn": topic}
    )


def test_the_dashboard_shows_connections_events_messages_latency(synthesized: Synthesized) -> None:
    """One dashboard per stage with those four graphs, on the handlers' metrics."""
    (dashboard,) = synthesized.of_type("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"healthcoach-realtime-{STAGE}"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Connections", "Events", "Messages", "Latency"):
        assert f'\\"title\\":\\"{title}' in body
    for metric in (MetricName.CONNECTIONS_OPENED, MetricName.MESSAGES_SENT, MetricName.DELIVERY_LATENCY):
        assert metric in body


def test_outputs_give_the_urls_and_the_bus(synthesized: Synthesized) -> None:
    """WebSocket URL (wss://.../<stage>), management endpoint (https://.../<stage>), bus name."""
    outputs = synthesized.outputs
    assert json.dumps(outputs["WebSocketUrl"]["Value"]).startswith('{"Fn::Join": ["", ["wss://"')
    assert outputs["WebSocketUrl"]["Value"]["Fn::Join"][1][-1] == f"/{STAGE}"
    assert outputs["ManagementEndpoint"]["Value"]["Fn::Join"][1][0] == "https://"
    assert outputs["EventBusName"]["Value"] == {"Ref": synthesized.logical_id(synthesized.stack.pipeline.bus)}


def test_route_handler_failures_alarm(synthesized: Synthesized) -> None:
    """A 500 from $connect/$disconnect is no Lambda error: the HandlerFailures metric alarms at one."""
    (alarm,) = [a for a in _alarms(synthesized) if a["MetricName"] == MetricName.HANDLER_FAILURES]
    assert (alarm["Namespace"], alarm["Threshold"]) == (NAMESPACE, 1)
