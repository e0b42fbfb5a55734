"""cdk-nag (AwsSolutions) findings this design accepts, each with the reason a reviewer gets.

Every acknowledgment sits on the construct that raises the finding, never on the whole stack,
so a new resource with the same problem is still reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from constructs import IConstruct

from healthcoach_realtime import manifest

if TYPE_CHECKING:
    from healthcoach_infra.stack import HealthCoachRealtimeStack

__all__ = ["acknowledge", "acknowledge_findings", "finding_text"]

_RUNTIME = (
    "Python 3.13 is a supported Lambda runtime and the one the bundles are built and byte-compiled "
    "for (wheels for manylinux2014_aarch64/cp313, .pyc for 3.13); moving to 3.14 is one constant in "
    "bundling.py and functions.py once the dependencies are tested there."
)


def finding_text(stack: cdk.Stack, value: str) -> str:
    """A value as cdk-nag prints it in a finding id: ``{"Ref": "X"}`` as ``<X>``, GetAtt as ``<X.Attr>``.

    Resolved by the stack, so a region or account known at synth (``cdk deploy`` with credentials)
    appears literally, as it does in the finding.
    """
    resolved: Any = stack.resolve(value)
    parts = resolved["Fn::Join"][1] if isinstance(resolved, dict) and "Fn::Join" in resolved else [resolved]
    text = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
        elif "Ref" in part:
            text.append(f"<{part['Ref']}>")
        elif "Fn::GetAtt" in part:
            text.append(f"<{'.'.join(part['Fn::GetAtt'])}>")
        else:
            raise ValueError(f"cannot render {part!r} as cdk-nag does")
    return "".join(text)


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one AwsSolutions finding (``rule`` as cdk-nag prints it, without the prefix)."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions::{rule}", reason=reason))


_CONNECTION_ID_WILDCARD = (
    "ManageConnections is limited to one method of @connections on this API's stage; the trailing * is "
    "the connection id, known only at run time."
)


def _connections_finding(stack: HealthCoachRealtimeStack, method: str) -> str:
    return f"AwsSolutions-IAM5[Resource::{finding_text(stack, stack.websocket.connections_arn(method))}]"


def acknowledge_findings(stack: HealthCoachRealtimeStack) -> None:
    """The accepted findings of the stack, with their reasons."""
    for fn in stack.functions.values():
        acknowledge(fn.function, "AwsSolutions-L1", _RUNTIME)

    api = stack.websocket
    # Which @connections methods each role may call (the manifest's; see stack._grant).
    for name, methods in manifest.posters(stack.manifest).items():
        for method in methods:
            acknowledge(
                stack.functions[name].role, _connections_finding(stack, method), _CONNECTION_ID_WILDCARD
            )
    acknowledge(stack.sign_out.policy, _connections_finding(stack, "DELETE"), _CONNECTION_ID_WILDCARD)
    sweeper_arn = finding_text(stack, stack.session_sweeper.function.function_arn)
    acknowledge(
        stack.sweep_schedule.role,
        f"AwsSolutions-IAM5[Resource::{sweeper_arn}:*]",
        "The schedule's role may invoke the session sweeper only; CDK's grantInvoke also names the "
        "function's versions and aliases (the :* qualifier), none of which the schedule uses.",
    )
    acknowledge(
        api.api.node.find_child("$connect-Route"),
        "AwsSolutions-APIG4",
        "The $connect function is the authorizer: it verifies the Cognito JWT (RS256 signature by the "
        "pool's JWKS, issuer, audience or client_id, token_use, expiry) and answers 401, which refuses "
        "the handshake. An API Gateway Lambda authorizer would run the same check in a second function "
        "with a second cold start.",
    )
    for key in manifest.routes(stack.manifest):
        if key != "$connect":
            acknowledge(
                api.api.node.find_child(f"{key}-Route"),
                "AwsSolutions-APIG4",
                "API Gateway routes this only on a connection that $connect accepted (after verifying its "
                "token); clients cannot reach it otherwise.",
            )
    if stack.stream_bridge_sources:
        acknowledge(
            stack.stream_bridge.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only dynamodb:ListStreams, which has no resource-level permissions (CDK's DynamoEventSource "
            "grants it so, as AWS's AWSLambdaDynamoDBExecutionRole does); reading the records "
            "(DescribeStream, GetRecords, GetShardIterator) is granted on each configured stream ARN only.",
        )
    if hasattr(api, "account_log_role"):
        acknowledge(
            api.account_log_role,
            f"AwsSolutions-IAM4[Policy::{finding_text(stack, api.account_log_policy.managed_policy_arn)}]",
            "The policy AWS documents for API Gateway's account-level logging role: API Gateway names the "
            "log groups it writes, so an inline policy could not list them in advance.",
        )
    acknowledge(
        stack.pipeline.stream_bridge_failures,
        "AwsSolutions-SQS3",
        "This queue is itself the stream bridge's terminal failure queue (its event source mappings' "
        "on-failure destination and its own dead letters); a DLQ behind it would only move the same "
        "messages, and its depth alarm already reports them.",
    )
    pipeline = stack.pipeline
    for queue, what in (
        (pipeline.delivery_dead_letter_queue, "the dispatch subscriber's on-failure destination"),
        (pipeline.rejected_dead_letter_queue, "the rejected subscriber's on-failure destination"),
    ):
        acknowledge(
            queue,
            "AwsSolutions-SQS3",
            f"This queue is itself {what} (what EventBridge could not deliver after its retries, ids "
            "only); a DLQ behind it would only move the same records, and its depth alarm reports them.",
        )
    acknowledge(
        pipeline.rejected_queue,
        "AwsSolutions-SQS3",
        "Nothing consumes this queue: it keeps the healthcoach.* events that match no schema for a person "
        "to inspect, and its depth alarm reports them. Messages are never received by code, so they can "
        "never fail processing; what EventBridge cannot deliver to it goes to its on-failure queue.",
    )
