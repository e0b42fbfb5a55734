"""cfn-lint on the synthesized template: no errors, no warnings (suppressions carry their reason)."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint_file

from tests.infra.conftest import Synthesized


def test_cfn_lint_finds_nothing(synthesized: Synthesized) -> None:
    """Errors and warnings of every default rule, for the regions HealthCoach deploys to."""
    matches = lint_file(synthesized.template_path, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [str(m) for m in matches] == []


def test_every_cfn_lint_suppression_is_one_known_rule(synthesized: Synthesized) -> None:
    """Only W3005 (CDK's redundant DependsOn on a function's role) is ignored, and only on functions."""
    suppressed = {
        logical_id: resource["Metadata"]["cfn-lint"]["config"]["ignore_checks"]
        for logical_id, resource in synthesized.resources.items()
        if "cfn-lint" in resource.get("Metadata", {})
    }
    functions = synthesized.of_type("AWS::Lambda::Function")
    assert set(suppressed) == set(functions)
    assert all(checks == ["W3005"] for checks in suppressed.values())
