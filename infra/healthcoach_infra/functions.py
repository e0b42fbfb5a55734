"""The Lambda functions: one bundled handler each, Python 3.13 on arm64, with their own logs and role.

Memory is chosen per job (Lambda gives CPU in proportion to memory, and cold starts are CPU-bound
imports): ``$connect`` verifies an RS256 signature and sits in the user's handshake, the dispatcher
fans out concurrent posts; ``$disconnect`` and the stream bridge do one small write per event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from healthcoach_infra.bundling import LAMBDA_TARGET, BundleSpec, BundleTarget, lambda_code, pin
from healthcoach_realtime.observability import NAMESPACE, SERVICE

__all__ = [
    "EVENTBRIDGEV2_MODEL",
    "FUNCTIONS",
    "LOG_RETENTION",
    "PUBLISHER_SDK",
    "FunctionSpec",
    "RealtimeFunction",
]

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# Every function needs these; boto3 is left to the Lambda runtime unless the function publishes.
_BASE_DEPENDENCIES = ("aws-lambda-powertools", "fastjsonschema")
# A function that publishes to the bus speaks eventbridgev2, which the runtime's own boto3 may
# predate: it ships its own SDK (the versions tested here, boto3 >= 1.43.102). Lambda puts the
# bundle (/var/task) first on sys.path, so the bundled botocore is the one imported.
PUBLISHER_SDK = ("boto3", "botocore")
# botocore's service model of the Custom Event Bus: the build fails if a publisher's bundle lacks it.
EVENTBRIDGEV2_MODEL = "botocore/data/eventbridgev2"


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the functions: folder, sizing and third-party dependencies."""

    name: str
    description: str
    memory_mb: int
    timeout_seconds: int
    dependencies: tuple[str, ...] = _BASE_DEPENDENCIES
    # Paths the bundle must contain (checked when it is built).
    bundle_must_contain: tuple[str, ...] = ()


FUNCTIONS: Mapping[str, FunctionSpec] = {
    spec.name: spec
    for spec in (
        FunctionSpec(
            "connect",
            "$connect: verify the Cognito token, record the connection",
            memory_mb=512,
            timeout_seconds=10,
            dependencies=(*_BASE_DEPENDENCIES, "pyjwt[crypto]"),
        ),
        FunctionSpec("disconnect", "$disconnect: forget the connection", memory_mb=256, timeout_seconds=10),
        FunctionSpec(
            "dispatcher",
            "Deliver domain events from SQS to every open connection of their user",
            memory_mb=512,
            # The dispatch queue's visibility timeout (180 s) must be at least six times this.
            # Posts start only while one could still end before the deadline (7 s per attempt,
            # 1 s to report): 30 s leaves 22 s for a slow DynamoDB stage before posts are deferred.
            timeout_seconds=30,
        ),
        FunctionSpec(
            "stream_bridge",
            "Turn data-table stream records into domain events on the bus",
            memory_mb=256,
            timeout_seconds=30,
            dependencies=(*_BASE_DEPENDENCIES, *PUBLISHER_SDK),
            bundle_must_contain=(EVENTBRIDGEV2_MODEL,),
        ),
        FunctionSpec(
            "default",
            "$default: ping, resume, presence, auth (token refresh); rate limited per connection",
            memory_mb=256,
            timeout_seconds=10,
            # auth verifies an RS256 token as $connect does (imported on the first auth only).
            dependencies=(*_BASE_DEPENDENCIES, "pyjwt[crypto]"),
        ),
        FunctionSpec(
            "session_sweeper",
            "Close connections whose token expired (EventBridge Scheduler, every minute)",
            memory_mb=256,
            # Two passes a minute: the second starts 30 s in and needs 15 s (sweeper handler).
            timeout_seconds=58,
        ),
    )
}


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
