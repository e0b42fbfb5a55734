"""Operations: alarms on lost events, failing or throttled functions, delivery failures; a dashboard."""

from __future__ import annotations

import json
from typing import Any

from healthcoach_infra.monitoring import DELIVERY_FAILURES_THRESHOLD
from healthcoach_realtime.observability import NAMESPACE, MetricName, service_name
from tests.infra.conftest import STAGE, Synthesized


def _alarms(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [a["Properties"] for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()]


def _queue_alarms(synthesized: Synthesized) -> set[str]:
    """Logical ids of the queues alarmed at one visible message."""
    return {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in _alarms(synthesized)
        if a["MetricName"] == "ApproximateNumberOfMessagesVisible" and a["Threshold"] == 1
    }


def test_each_dead_letter_queue_alarms_on_its_first_message(synthesized: Synthesized) -> None:
    """Dispatch DLQ, delivery DLQ (the FIFO subscriber's on-failure), rejected DLQ and stream-bridge
    failure queue: each alarms at one visible message."""
    pipeline = synthesized.stack.pipeline
    dead_letters = {
        synthesized.logical_id(q)
        for q in (
            pipeline.dead_letter_queue,
            pipeline.delivery_dead_letter_queue,
            pipeline.rejected_dead_letter_queue,
            pipeline.stream_bridge_failures,
        )
    }
    assert dead_letters == {synthesized.logical_id(q) for q in pipeline.dead_letter_queues.values()}
    assert dead_letters <= _queue_alarms(synthesized)


def test_an_event_that_matches_no_schema_alarms(synthesized: Synthesized) -> None:
    """The rejected queue (unknown type or source) alarms at one message; the dispatch queue does not
    (its depth is normal traffic): exactly the DLQs and the rejected queue are alarmed so."""
    pipeline = synthesized.stack.pipeline
    expected = {
        synthesized.logical_id(q) for q in (*pipeline.dead_letter_queues.values(), pipeline.rejected_queue)
    }
    assert _queue_alarms(synthesized) == expected


def test_each_subscriber_alarms_on_dropped_events(synthesized: Synthesized) -> None:
    """EventsDropped (AWS/EventsV2, dimensions EventBus and Subscriber, both ARNs) per subscriber."""
    stack = synthesized.stack
    bus = {"Fn::GetAtt": [stack.get_logical_id(stack.pipeline.bus), "EventBusArn"]}
    dropped = [a for a in _alarms(synthesized) if a["MetricName"] == "EventsDropped"]
    assert {json.dumps(a["Dimensions"], sort_keys=True) for a in dropped} == {
        json.dumps(
            [
                {"Name": "EventBus", "Value": bus},
                {"Name": "Subscriber", "Value": {"Fn::GetAtt": [stack.get_logical_id(s), "SubscriberArn"]}},
            ],
            sort_keys=True,
        )
        for s in stack.pipeline.subscribers.values()
    }
    assert all(
        (a["Namespace"], a["Threshold"], a["Statistic"]) == ("AWS/EventsV2", 1, "Sum") for a in dropped
    )


def test_no_classic_eventbridge_metric_is_watched(synthesized: Synthesized) -> None:
    """No alarm or dashboard widget reads AWS/Events (the rules' metrics): there are no rules."""
    assert all(a["Namespace"] != "AWS/Events" for a in _alarms(synthesized))
    (dashboard,) = synthesized.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert '\\"AWS/Events\\"' not in body
    assert "AWS/EventsV2" in body


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
    for title in ("Connections", "Events", "Subscriber deliveries", "Messages", "Latency"):
        assert f'\\"title\\":\\"{title}' in body
    for metric in (
        MetricName.CONNECTIONS_OPENED,
        MetricName.MESSAGES_SENT,
        MetricName.EVENTS_EMITTED,
        MetricName.DROPPED_ATTRIBUTES,
    ):
        assert metric in body


def test_outputs_give_the_urls_and_the_bus(synthesized: Synthesized) -> None:
    """WebSocket URL (wss://.../<stage>), management endpoint (https://.../<stage>), bus name."""
    outputs = synthesized.outputs
    assert json.dumps(outputs["WebSocketUrl"]["Value"]).startswith('{"Fn::Join": ["", ["wss://"')
    assert outputs["WebSocketUrl"]["Value"]["Fn::Join"][1][-1] == f"/{STAGE}"
    assert outputs["ManagementEndpoint"]["Value"]["Fn::Join"][1][0] == "https://"
    assert outputs["EventBusName"]["Value"] == f"healthcoach-realtime-{STAGE}"


def test_route_handler_failures_alarm(synthesized: Synthesized) -> None:
    """A 500 from $connect/$disconnect is no Lambda error: the HandlerFailures metric alarms at one."""
    (alarm,) = [a for a in _alarms(synthesized) if a["MetricName"] == MetricName.HANDLER_FAILURES]
    assert (alarm["Namespace"], alarm["Threshold"]) == (NAMESPACE, 1)
