"""The connections table is exactly DESIGN.md's: keys, GSI1, TTL, on-demand, point-in-time recovery."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.infra.conftest import Synthesized


def test_the_key_is_connection_id(synthesized: Synthesized) -> None:
    """PK ``connectionId`` (S), nothing else in the primary key."""
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table", {"KeySchema": [{"AttributeName": "connectionId", "KeyType": "HASH"}]}
    )


def test_gsi1_finds_a_users_connections(synthesized: Synthesized) -> None:
    """GSI1: PK ``userId``, SK ``connectionId``, all attributes projected (the guide reads them)."""
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "GSI1",
                    "KeySchema": [
                        {"AttributeName": "userId", "KeyType": "HASH"},
                        {"AttributeName": "connectionId", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ]
        },
    )


def test_rows_expire_by_their_ttl_attribute(synthesized: Synthesized) -> None:
    """TTL on ``ttl`` (epoch seconds, written as now + 7200 by $connect)."""
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table", {"TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True}}
    )


def test_billing_is_on_demand_with_point_in_time_recovery(synthesized: Synthesized) -> None:
    """PAY_PER_REQUEST and PITR enabled."""
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_cloudformation_names_the_table(synthesized: Synthesized) -> None:
    """No fixed TableName, so two stages can share an account; handlers get it from the environment."""
    synthesized.template.has_resource_properties("AWS::DynamoDB::Table", {"TableName": Match.absent()})
