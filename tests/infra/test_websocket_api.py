"""The WebSocket API: routes to the right functions, a throttled stage, token-free access logs."""

from __future__ import annotations

import json
import re

from aws_cdk.assertions import Match

from tests.infra.conftest import REPO_ROOT, STAGE, Synthesized


def _integration_function(synthesized: Synthesized, route: dict[str, object]) -> str:
    """The logical id of the Lambda function behind a route."""
    target = json.dumps(route["Properties"]["Target"])  # type: ignore[index]
    integration_id = re.search(r'"Ref": "([^"]+)"', target)
    assert integration_id is not None
    uri = json.dumps(synthesized.resources[integration_id.group(1)]["Properties"]["IntegrationUri"])
    function_id = re.search(r'"Fn::GetAtt": \["([^"]+)", "Arn"\]', uri)
    assert function_id is not None
    return function_id.group(1)


def test_routes_are_the_ones_the_handlers_serve(synthesized: Synthesized) -> None:
    """$connect and $disconnect; $default only once functions/default/handler.py exists."""
    routes = {r["Properties"]["RouteKey"] for r in synthesized.of_type("AWS::ApiGatewayV2::Route").values()}
    expected = {"$connect", "$disconnect"}
    if (REPO_ROOT / "functions" / "default" / "handler.py").is_file():
        expected.add("$default")
    assert routes == expected


def test_each_route_invokes_its_own_function(synthesized: Synthesized) -> None:
    """$connect -> connect, $disconnect -> disconnect, through Lambda proxy integrations."""
    stack = synthesized.stack
    expected = {
        "$connect": synthesized.logical_id(stack.connect.function),
        "$disconnect": synthesized.logical_id(stack.disconnect.function),
    }
    routes = synthesized.of_type("AWS::ApiGatewayV2::Route").values()
    actual = {r["Properties"]["RouteKey"]: _integration_function(synthesized, r) for r in routes}
    assert {k: actual[k] for k in expected} == expected


def test_integrations_are_lambda_proxy(synthesized: Synthesized) -> None:
    """AWS_PROXY, so $connect's headers (Sec-WebSocket-Protocol) reach the client."""
    for integration in synthesized.of_type("AWS::ApiGatewayV2::Integration").values():
        assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"


def test_the_stage_is_throttled_and_deploys_itself(synthesized: Synthesized) -> None:
    """Stage named as configured, auto-deployed, with a rate and burst limit on every route."""
    synthesized.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": STAGE,
            "AutoDeploy": True,
            "DefaultRouteSettings": Match.object_like(
                {"ThrottlingRateLimit": Match.any_value(), "ThrottlingBurstLimit": Match.any_value()}
            ),
        },
    )


def test_access_logs_hold_only_context_variables(synthesized: Synthesized) -> None:
    """Access log fields are $context variables that cannot carry a token (no query, no header)."""
    (stage,) = synthesized.of_type("AWS::ApiGatewayV2::Stage").values()
    fields = json.loads(stage["Properties"]["AccessLogSettings"]["Format"])
    assert "$context.requestId" in fields.values()
    for value in fields.values():
        assert value.startswith("$context.")
        assert not re.search(r"token|querystring|header|authorizer|request\.", value, re.IGNORECASE)


def test_access_logs_go_to_a_log_group_with_retention(synthesized: Synthesized) -> None:
    """The stage writes to its own log group, which expires its entries."""
    (stage,) = synthesized.of_type("AWS::ApiGatewayV2::Stage").values()
    destination = stage["Properties"]["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert synthesized.resources[destination]["Properties"]["RetentionInDays"] > 0


def test_execution_logs_and_data_trace_are_off(synthesized: Synthesized) -> None:
    """Execution logs with data trace would record the request (and so the token): both off."""
    synthesized.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {"DefaultRouteSettings": Match.object_like({"DataTraceEnabled": False, "LoggingLevel": "OFF"})},
    )


def test_the_account_log_role_is_set_before_the_stage(synthesized: Synthesized) -> None:
    """API Gateway's account CloudWatch role exists, and the stage waits for it."""
    (account_id,) = synthesized.of_type("AWS::ApiGateway::Account")
    (stage,) = synthesized.of_type("AWS::ApiGatewayV2::Stage").values()
    assert account_id in stage.get("DependsOn", [])
