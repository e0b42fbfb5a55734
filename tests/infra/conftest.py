"""One synthesized stack for the whole session (the first synth takes ~10 s, so it runs once).

Synth runs exactly as ``make synth`` does (the app factory, local bundling, cdk-nag), with test
configuration and no AWS credentials, into a temporary cloud assembly.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Before anything starts the jsii kernel (it prints Node 20's end-of-life banner otherwise).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT / "infra") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "infra"))

from aws_cdk.assertions import Template  # noqa: E402

from healthcoach_infra.application import build_app  # noqa: E402
from healthcoach_infra.stack import HealthCoachRealtimeStack  # noqa: E402
from healthcoach_realtime.resources import DATA_TABLES  # noqa: E402

STAGE = "test"
USER_POOL_ID = "eu-west-1_TestPool9"
CLIENT_ID = "3testclient0example0id0abc"
STREAM_ARNS = {
    table.name: f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table.name}/stream/2025-01-01T00:00:00.000"
    for table in DATA_TABLES
}
CONTEXT: dict[str, Any] = {
    "stage": STAGE,
    "userPoolId": USER_POOL_ID,
    "userPoolClientId": CLIENT_ID,
    "dataTableStreamArns": STREAM_ARNS,
    "alarmEmail": "oncall@example.com",
}


@dataclass(frozen=True)
class Synthesized:
    """The synthesized stack: its template (as JSON and for assertions) and its cloud assembly."""

    stack: HealthCoachRealtimeStack
    template: Template
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    outdir: Path

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Logical id -> resource, for every resource of ``resource_type``."""
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def logical_id(self, construct: Any) -> str:
        """The logical id of an L2 construct's CloudFormation resource."""
        return self.stack.get_logical_id(construct.node.default_child)

    def functions(self) -> dict[str, Any]:
        """Every deployed ``RealtimeFunction`` by name: one per manifest entry."""
        return dict(self.stack.functions)

    @property
    def template_path(self) -> Path:
        """The template file, as ``cdk deploy`` would upload it."""
        return self.outdir / f"{self.stack.stack_name}.template.json"


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """``make synth`` with the test configuration, once per session."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app(context=CONTEXT, env={}, outdir=str(outdir))
    app.synth()
    template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text(encoding="utf-8"))
    return Synthesized(
        stack=stack,
        template=Template.from_json(template),
        resources=template["Resources"],
        outputs=template.get("Outputs", {}),
        outdir=outdir,
    )
