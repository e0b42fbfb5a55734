"""The Lambda functions: one bundled handler each, Python 3.13 on arm64, with their own logs and role.

Which functions there are, and their sizes, come from ``healthcoach_realtime.manifest``. Memory
is chosen per job (Lambda gives CPU in proportion to memory, and cold starts are CPU-bound
imports): ``$connect`` verifies an RS256 signature and sits in the user's handshake, the dispatcher
fans out concurrent posts; ``$disconnect`` and the stream bridge do one small write per event.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from healthcoach_infra.bundling import LAMBDA_TARGET, BundleSpec, BundleTarget, lambda_code, pin
from healthcoach_realtime import manifest
from healthcoach_realtime.manifest import PUBLISHER_SDK, FunctionEntry
from healthcoach_realtime.observability import NAMESPACE, SERVICE

__all__ = [
    "EVENTBRIDGEV2_MODEL",
    "FUNCTIONS",
    "LOG_RETENTION",
    "PUBLISHER_SDK",
    "FunctionSpec",
    "RealtimeFunction",
    "function_environment",
]

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# botocore's service model of the Custom Event Bus: the build fails if a publisher's bundle lacks it.
# A publisher ships its own SDK (PUBLISHER_SDK: the runtime's boto3 may predate eventbridgev2);
# Lambda puts the bundle (/var/task) first on sys.path, so the bundled botocore is the one imported.
EVENTBRIDGEV2_MODEL = "botocore/data/eventbridgev2"


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the functions: folder, sizing and third-party dependencies."""

    name: str
    description: str
    memory_mb: int
    timeout_seconds: int
    dependencies: tuple[str, ...]
    # Paths the bundle must contain (checked when it is built).
    bundle_must_contain: tuple[str, ...] = ()

    @classmethod
    def of(cls, entry: FunctionEntry) -> FunctionSpec:
        """The deployable facts of a manifest entry; a publisher's bundle must hold eventbridgev2."""
        publishes = set(PUBLISHER_SDK) <= set(entry.dependencies)
        return cls(
            entry.name,
            entry.description,
            memory_mb=entry.memory_mb,
            timeout_seconds=entry.timeout_seconds,
            dependencies=entry.dependencies,
            bundle_must_contain=(EVENTBRIDGEV2_MODEL,) if publishes else (),
        )


FUNCTIONS: Mapping[str, FunctionSpec] = {entry.name: FunctionSpec.of(entry) for entry in manifest.FUNCTIONS}


def function_environment(
    entry: FunctionEntry, values: Mapping[str, str], *, defaulted: Collection[str] = ()
) -> dict[str, str]:
    """The settings ``entry`` reads, each from ``values``: nothing it does not read.

    ``defaulted`` names settings the stack deliberately leaves unset (the function's default
    applies, or the stack sets them later); any other setting without a value fails the synth.
    """
    unknown = [name for name in entry.settings if name not in values and name not in defaulted]
    if unknown:
        raise ValueError(f"the stack cannot provide {', '.join(unknown)}, read by function {entry.name}")
    return {name: values[name] for name in entry.settings if name in values}


class RealtimeFunction(Construct):
    """One handler from ``functions/<name>/``, its log group (retention set) and its own role.

    The role starts empty: it may write to this log group, and the stack grants the rest, so no
    function holds a managed policy or another function's permissions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        repo_root: Path,
        environment: Mapping[str, str],
        service: str = SERVICE,
        log_level: str = "INFO",
        target: BundleTarget = LAMBDA_TARGET,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.log_group = logs.LogGroup(
            self, "Logs", retention=LOG_RETENTION, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"healthcoach-realtime {spec.name} function",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=spec.description,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=lambda_code(
                BundleSpec(
                    spec.name,
                    pin(spec.dependencies),
                    repo_root,
                    target,
                    must_contain=spec.bundle_must_contain,
                )
            ),
            memory_size=spec.memory_mb,
            timeout=cdk.Duration.seconds(spec.timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
                "LOG_LEVEL": log_level,
                **environment,
            },
        )
        resource = self.function.node.default_child
        assert isinstance(resource, lambda_.CfnFunction)
        # cfn-lint W3005: CDK makes every Function DependsOn its role as well as the role's policy;
        # the role half repeats what the Role GetAtt already orders. Redundant and harmless.
        resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
