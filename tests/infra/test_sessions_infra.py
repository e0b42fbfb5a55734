"""Live sessions in the stack: throttles sized by the documented formula (and configurable as
context), the sweeper's schedule and its not-running alarm, the session bounds' configuration."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from healthcoach_infra.config import DeployConfig, DeployConfigError
from healthcoach_infra.throttles import (
    ACCOUNT_NEW_CONNECTIONS_PER_SECOND,
    RouteThrottle,
    StageThrottles,
    stage_throttles,
)
from healthcoach_infra.websocket_api import RealtimeWebSocketApi
from healthcoach_realtime.sessions.sweep import SCHEDULE_INPUT
from tests.infra.conftest import Synthesized

GOOD = {"stage": "prod", "userPoolId": "us-east-1_AbC123xyz", "userPoolClientId": "abc123"}


# ---- the formula ---------------------------------------------------------------------------------


def test_ten_thousand_connections_get_34_handshakes_and_103_messages_a_second() -> None:
    """N = 10,000, pings every 300 s: $connect max(2N/1800, N/300) = 34; $default N/300 + N/3600 +
    2 x 33.3 = 103; bursts twice the rates."""
    assert stage_throttles(10_000, 300) == StageThrottles(
        connect=RouteThrottle(34, 68), default=RouteThrottle(103, 206)
    )


def test_a_million_connections_hit_the_accounts_handshake_quota() -> None:
    """$connect never asks for more than the account's 500 new connections/s; $default scales on."""
    throttles = stage_throttles(1_000_000, 300)
    assert throttles.connect == RouteThrottle(
        ACCOUNT_NEW_CONNECTIONS_PER_SECOND, 2 * ACCOUNT_NEW_CONNECTIONS_PER_SECOND
    )
    assert throttles.default.rate == 10_278


def test_a_small_deployment_keeps_a_floor() -> None:
    """A hundred connections still get 10 requests/s on each route (developers reloading pages)."""
    assert stage_throttles(100, 300) == StageThrottles(
        connect=RouteThrottle(10, 20), default=RouteThrottle(10, 20)
    )


def test_pinging_more_often_raises_the_default_routes_rate_only() -> None:
    """Halving the ping interval adds N/300 to $default and nothing to $connect."""
    slow, fast = stage_throttles(30_000, 300), stage_throttles(30_000, 150)
    assert (fast.connect, fast.default.rate - slow.default.rate) == (slow.connect, 100)


@pytest.mark.parametrize(("peak", "ping"), [(0, 300), (10, 0)])
def test_a_model_without_traffic_is_refused(peak: int, ping: int) -> None:
    """Zero connections or a zero ping interval: ValueError, not a zero throttle."""
    with pytest.raises(ValueError, match="at least 1"):
        stage_throttles(peak, ping)


# ---- the stage -------------------------------------------------------------------------------------


def test_the_stage_throttles_are_the_formulas_for_the_configured_traffic(synthesized: Synthesized) -> None:
    """Default route settings ($connect, $disconnect) and $default's route settings carry the formula's
    figures for the default model (10,000 connections, 300 s pings)."""
    expected = stage_throttles()
    (stage,) = synthesized.of_type("AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]
    defaults = settings["DefaultRouteSettings"]
    assert (defaults["ThrottlingRateLimit"], defaults["ThrottlingBurstLimit"]) == (
        expected.connect.rate,
        expected.connect.burst,
    )
    route = settings["RouteSettings"]["$default"]
    assert (route["ThrottlingRateLimit"], route["ThrottlingBurstLimit"]) == (
        expected.default.rate,
        expected.default.burst,
    )
    assert (route["DataTraceEnabled"], route["LoggingLevel"]) == (False, "OFF")


def test_the_stage_waits_for_the_route_its_settings_name(synthesized: Synthesized) -> None:
    """RouteSettings names $default: the stage DependsOn that route, or creating it could fail."""
    (stage,) = synthesized.of_type("AWS::ApiGatewayV2::Stage").values()
    default_route = next(
        logical_id
        for logical_id, route in synthesized.of_type("AWS::ApiGatewayV2::Route").items()
        if route["Properties"]["RouteKey"] == "$default"
    )
    assert default_route in stage["DependsOn"]


def test_peak_connections_as_context_sizes_the_throttles() -> None:
    """The same construct, given another model's throttles (what context peakConnections and
    pingIntervalSeconds feed it), carries those instead."""
    stack = cdk.Stack()
    code = lambda_.Code.from_inline("def handler(event, context): pass")

    def function(name: str) -> lambda_.Function:
        return lambda_.Function(
            stack, name, runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=code
        )

    RealtimeWebSocketApi(
        stack,
        "Api",
        stage_name="big",
        routes={
            "$connect": function("Connect"),
            "$disconnect": function("Disconnect"),
            "$default": function("Default"),
        },
        throttles=stage_throttles(200_000, 600),
        create_account_log_role=False,
    )
    (stage,) = Template.from_stack(stack).find_resources("AWS::ApiGatewayV2::Stage").values()
    expected = stage_throttles(200_000, 600)
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"] == expected.connect.rate
    assert stage["Properties"]["RouteSettings"]["$default"]["ThrottlingRateLimit"] == expected.default.rate


def test_traffic_and_the_per_user_limit_are_read_from_context_or_environment() -> None:
    """peakConnections, pingIntervalSeconds and maxConnectionsPerUser from context; env as fallback."""
    config = DeployConfig.from_sources(
        {**GOOD, "peakConnections": 250_000, "maxConnectionsPerUser": "4"}, {"PING_INTERVAL_SECONDS": "120"}
    )
    assert (config.peak_connections, config.ping_interval_seconds, config.max_connections_per_user) == (
        250_000,
        120,
        4,
    )
    default = DeployConfig.from_sources(GOOD, {})
    assert (default.peak_connections, default.ping_interval_seconds, default.max_connections_per_user) == (
        10_000,
        300,
        10,
    )


@pytest.mark.parametrize("value", [0, "-3", "lots", True, 2.5])
def test_an_unusable_traffic_value_is_refused_by_name(value: Any) -> None:
    """Not a whole number >= 1: the synth stops naming the context key and the env variable."""
    with pytest.raises(DeployConfigError) as caught:
        DeployConfig.from_sources({**GOOD, "maxConnectionsPerUser": value}, {})
    assert "maxConnectionsPerUser" in str(caught.value)
    assert "MAX_CONNECTIONS_PER_USER" in str(caught.value)


# ---- the sweeper's schedule ---------------------------------------------------------------------


def test_the_sweeper_runs_every_minute_with_the_local_stacks_input(synthesized: Synthesized) -> None:
    """rate(1 minute), no flexible window, target the sweeper with SCHEDULE_INPUT, no retries, a
    minute's maximum age (the next run covers a missed one)."""
    (schedule,) = synthesized.of_type("AWS::Scheduler::Schedule").values()
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == "rate(1 minute)"
    assert properties["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = properties["Target"]
    sweeper = synthesized.logical_id(synthesized.stack.session_sweeper.function)
    assert target["Arn"] == {"Fn::GetAtt": [sweeper, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 0}
    assert target["RoleArn"] == {
        "Fn::GetAtt": [synthesized.logical_id(synthesized.stack.sweep_schedule.role), "Arn"]
    }
    assert json.loads(target["Input"]) == dict(SCHEDULE_INPUT)


def test_a_sweeper_that_stops_running_alarms(synthesized: Synthesized) -> None:
    """Fewer than one invocation in 5 minutes (and no data at all) breaches: expired sessions would
    stay open."""
    sweeper = synthesized.logical_id(synthesized.stack.session_sweeper.function)
    (alarm,) = [
        a["Properties"]
        for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "Invocations"
    ]
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": sweeper}}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"], alarm["Period"]) == (
        "LessThanThreshold",
        1,
        "breaching",
        300,
    )
    assert alarm["AlarmActions"]
