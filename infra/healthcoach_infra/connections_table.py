"""The connections table (contract in DESIGN.md): who is connected where, for two hours at most."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from healthcoach_realtime.resources import CONNECTIONS_GSI

__all__ = ["ConnectionsTable", "state_table"]


class ConnectionsTable(Construct):
    """PK ``connectionId``; GSI ``GSI1`` (``userId``, ``connectionId``); TTL on ``ttl``.

    CloudFormation names the table (so two stages can share an account); the handlers get the name
    through ``CONNECTIONS_TABLE``. The rows are rebuilt by reconnecting clients, so the table is
    deleted with the stack; point-in-time recovery still guards against a bad deploy or script.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = state_table(self, partition_key="connectionId")
        # Projection ALL, as the guide's table: its publishUserEvent reads items from the index.
        self.table.add_global_secondary_index(
            index_name=CONNECTIONS_GSI,
            partition_key=dynamodb.Attribute(name="userId", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="connectionId", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )

    @property
    def index_arn(self) -> str:
        """The ARN of ``GSI1``: the only index, and the only one the dispatcher may query."""
        return f"{self.table.table_arn}/index/{CONNECTIONS_GSI}"


def state_table(scope: Construct, *, partition_key: str, sort_key: str | None = None) -> dynamodb.Table:
    """A table of state clients rebuild (connections, replay history): on-demand, TTL on ``ttl``,
    deleted with the stack, point-in-time recovery against a bad deploy or script. String keys;
    CloudFormation names it."""
    return dynamodb.Table(
        scope,
        "Table",
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        time_to_live_attribute="ttl",
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
