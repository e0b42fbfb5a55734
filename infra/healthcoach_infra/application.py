"""Build the CDK app: configuration from context/environment, the stack, cdk-nag at synth."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from healthcoach_infra.config import CONTEXT_KEYS, DeployConfig
from healthcoach_infra.stack import HealthCoachRealtimeStack

__all__ = ["REPO_ROOT", "build_app"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def build_app(
    *,
    context: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    outdir: str | None = None,
    repo_root: Path = REPO_ROOT,
) -> tuple[cdk.App, HealthCoachRealtimeStack]:
    """The app with its one stack, ``HealthCoachRealtime-<stage>``; raises ``DeployConfigError``.

    ``context`` adds to what the CDK CLI passes (``-c key=value``, ``cdk.json``); ``env``
    defaults to ``os.environ``. AwsSolutions checks run at synth: an unacknowledged finding fails it.
    """
    environ = os.environ if env is None else env
    # Under the CDK CLI, CDK_OUTDIR names the output; run directly (make synth), it is cdk.out/.
    outdir = outdir or environ.get("CDK_OUTDIR") or str(repo_root / "cdk.out")
    app = cdk.App(context={"@aws-cdk/core:validationReportJson": True, **(context or {})}, outdir=outdir)
    config = DeployConfig.from_sources({key: app.node.try_get_context(key) for key in CONTEXT_KEYS}, environ)
    stack = HealthCoachRealtimeStack(
        app,
        f"HealthCoachRealtime-{config.stage}",
        config=config,
        repo_root=repo_root,
        description=f"HealthCoach Realtime ({config.stage}): per-user push over API Gateway WebSockets",
        # Unset without credentials (make synth): the template is then environment-agnostic.
        env=cdk.Environment(
            account=environ.get("CDK_DEFAULT_ACCOUNT"), region=environ.get("CDK_DEFAULT_REGION")
        ),
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
