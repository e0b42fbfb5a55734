"""A seventh function is one manifest entry and one handler: the stack builds the rest.

Synthesized (with cdk-nag) from a repository copy whose ``functions/`` adds that handler, so
the real tree stays as it is; ``src``, ``schemas`` and the dependency cache are linked, not copied.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from healthcoach_infra.config import DeployConfig
from healthcoach_infra.functions import function_environment
from healthcoach_infra.stack import HealthCoachRealtimeStack
from healthcoach_realtime import manifest
from healthcoach_realtime.manifest import FunctionEntry, Route
from tests.infra.conftest import CLIENT_ID, REPO_ROOT, USER_POOL_ID
from tests.support.greeter import GREETER


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("repo")
    for linked in ("src", "schemas", ".cache"):
        (root / linked).symlink_to(REPO_ROOT / linked, target_is_directory=True)
    (root / "functions").mkdir()
    for entry in manifest.FUNCTIONS:
        (root / "functions" / entry.name).symlink_to(REPO_ROOT / "functions" / entry.name)
    (root / "functions" / "greeter").mkdir()
    (root / "functions" / "greeter" / "handler.py").write_text(
        'def handler(event, context):\n    return {"statusCode": 200}\n'
    )
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    config = DeployConfig.from_sources(
        {"stage": "seven", "userPoolId": USER_POOL_ID, "userPoolClientId": CLIENT_ID}, {}
    )
    stack = HealthCoachRealtimeStack(
        app, "Seven", config=config, repo_root=root, functions=(*manifest.FUNCTIONS, GREETER)
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # fails on an unacknowledged cdk-nag finding
    return dict(Template.from_stack(stack).to_json())


def _greeter(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = [
        (k, v)
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::Lambda::Function" and v["Properties"].get("Description") == GREETER.description
    ]
    return logical_id, resource["Properties"]


def test_the_seventh_function_is_deployed_as_its_entry_says(template: dict[str, Any]) -> None:
    """Its size, and an environment of exactly the settings it reads (plus Powertools')."""
    _, function = _greeter(template)
    assert (function["MemorySize"], function["Timeout"]) == (128, 5)
    settings = {n for n in function["Environment"]["Variables"] if not n.startswith("POWERTOOLS_")}
    assert settings - {"LOG_LEVEL"} == {"CONNECTIONS_TABLE", "WS_API_ENDPOINT"}


def test_its_route_grant_and_alarms_follow(template: dict[str, Any]) -> None:
    """The ``greet`` route integrates it, its role may POST to @connections, and it has alarms."""
    logical_id, _ = _greeter(template)
    resources = template["Resources"].values()
    routes = [r["Properties"]["RouteKey"] for r in resources if r["Type"] == "AWS::ApiGatewayV2::Route"]
    assert "greet" in routes
    policies = [r for r in resources if r["Type"] == "AWS::IAM::Policy" and "Greeter" in str(r)]
    actions = [s["Action"] for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert "execute-api:ManageConnections" in actions
    alarms = [r for r in resources if r["Type"] == "AWS::CloudWatch::Alarm" and logical_id in str(r)]
    assert len(alarms) == 2  # errors, throttles


def test_a_setting_the_stack_cannot_provide_fails_the_synth() -> None:
    """Named, with the function that reads it."""
    reader = FunctionEntry(
        "reader",
        "reads a queue URL",
        Route("read"),
        settings=("DEAD_LETTER_QUEUE_URL",),
        memory_mb=128,
        timeout_seconds=5,
    )
    with pytest.raises(ValueError, match="cannot provide DEAD_LETTER_QUEUE_URL, read by function reader"):
        function_environment(reader, {"CONNECTIONS_TABLE": "t"})
