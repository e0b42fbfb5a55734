"""Live sessions' infrastructure: the sweeper's schedule and the sign-out policy an app attaches.

- ``SessionSweepSchedule``: EventBridge Scheduler invokes the session sweeper every minute (its
  finest rate); the sweeper makes two passes per run, so an expired session is closed within
  30 s plus one Scan. No retries and a 60 s maximum age: a missed run is covered by the next.
- ``SignOutPolicy``: what ``disconnect_user`` needs on this stage, as a managed policy for the
  app's sign-out and account-disable code to attach (stack output ``SignOutPolicyArn``).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from healthcoach_infra.websocket_api import RealtimeWebSocketApi
from healthcoach_realtime.sessions.sweep import SCHEDULE_INPUT

__all__ = ["SessionSweepSchedule", "SignOutPolicy"]


class SessionSweepSchedule(Construct):
    """A ``rate(N minutes)`` schedule (the sweeper's manifest entry: 1) whose target is the sweeper,
    with the input the local stack sends."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sweeper: lambda_.IFunction,
        stage: str,
        rate: cdk.Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        # Its own role (not CDK's shared one), so the invoke grant is visibly this schedule's alone.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            ),
            description=f"healthcoach-realtime {stage}: EventBridge Scheduler invokes the session sweeper",
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"healthcoach-realtime {stage}: close connections whose token has expired",
            schedule=scheduler.ScheduleExpression.rate(rate),
            target=targets.LambdaInvoke(
                sweeper,
                input=scheduler.ScheduleTargetInput.from_object(dict(SCHEDULE_INPUT)),
                retry_attempts=0,
                max_event_age=cdk.Duration.seconds(60),
                role=self.role,
            ),
        )


class SignOutPolicy(Construct):
    """Query the user's connections (and read the notes of new ones on the user's seq counter),
    delete their rows, close their sockets: nothing else."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        index_arn: str,
        history: dynamodb.ITable,
        websocket: RealtimeWebSocketApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="healthcoach-realtime: disconnect_user (sign-out, account disable) on this stage",
            statements=[
                iam.PolicyStatement(actions=["dynamodb:Query"], resources=[index_arn]),
                iam.PolicyStatement(actions=["dynamodb:DeleteItem"], resources=[table.table_arn]),
                iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[history.table_arn]),
                iam.PolicyStatement(
                    actions=["execute-api:ManageConnections"], resources=[websocket.connections_arn("DELETE")]
                ),
            ],
        )
