"""cdk-nag AwsSolutions: synth passes only with no unacknowledged finding; each acknowledgment says why."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks

from healthcoach_infra.nag import finding_text
from tests.infra.conftest import Synthesized


def _report(synthesized: Synthesized) -> dict[str, Any]:
    (report,) = [
        r
        for r in json.loads((synthesized.outdir / "validation-report.json").read_text())["pluginReports"]
        if r["pluginName"] == "AwsSolutions"
    ]
    return dict(report)


def test_awssolutions_ran_and_found_no_unacknowledged_finding(synthesized: Synthesized) -> None:
    """The plugin's report for this synth: success, no violations."""
    report = _report(synthesized)
    assert (report["conclusion"], report["violations"]) == ("success", [])


def test_each_acknowledgment_gives_a_reason(synthesized: Synthesized) -> None:
    """Every suppressed finding has a reason a reviewer can check (a sentence, not a placeholder)."""
    suppressed = _report(synthesized)["suppressedViolations"]
    assert suppressed
    for finding in suppressed:
        assert len(finding["reason"].split()) >= 12, finding["ruleName"]


def test_findings_are_acknowledged_where_they_arise(synthesized: Synthesized) -> None:
    """No acknowledgment on the stack itself: a new resource with the same problem is still reported."""
    stack_path = synthesized.stack.node.path
    for finding in _report(synthesized)["suppressedViolations"]:
        assert finding["acknowledgedAt"] != stack_path
        assert finding["acknowledgedAt"].startswith(stack_path + "/")


def test_the_accepted_findings_are_the_known_ones(synthesized: Synthesized) -> None:
    """Only these rules are acknowledged; a new kind of finding needs a decision, not a pass."""
    rules = {f["ruleName"].split("[")[0] for f in _report(synthesized)["suppressedViolations"]}
    assert rules == {
        "AwsSolutions-L1",
        "AwsSolutions-IAM5",
        "AwsSolutions-APIG4",
        "AwsSolutions-IAM4",
        "AwsSolutions-SQS3",
    }


def test_an_unacknowledged_finding_fails_the_synth(tmp_path: Any) -> None:
    """Control: the same plugin set-up refuses an unencrypted queue, so the checks above can fail."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "NagControl")
    sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="AwsSolutions-SQS2"):
        app.synth()


def test_finding_ids_follow_a_region_known_at_synth() -> None:
    """With credentials (cdk deploy) the region is literal in a finding id, and so in its acknowledgment."""
    stack = cdk.Stack(cdk.App(), "Known", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    arn = stack.format_arn(service="execute-api", resource="api", resource_name="prod/POST/@connections/*")
    assert (
        finding_text(stack, arn)
        == "arn:<AWS::Partition>:execute-api:eu-west-1:123456789012:api/prod/POST/@connections/*"
    )
