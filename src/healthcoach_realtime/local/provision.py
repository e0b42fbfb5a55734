"""Create in an AWS emulator exactly the resources ``infra/`` deploys (names from ``resources``).

Used by the local stack and by the tests, so both run against the same table keys, rule
pattern, queue and dead-letter settings as AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.resources import (
    CONNECTIONS_GSI,
    DATA_TABLES,
    DISPATCH_DLQ,
    DISPATCH_QUEUE,
    DISPATCH_RULE,
    DISPATCH_VISIBILITY_TIMEOUT_SECONDS,
    HISTORY_BY_SEQ_INDEX,
    MAX_RECEIVE_COUNT,
    DataTable,
    dispatch_routes,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeDefinitionTypeDef, KeySchemaElementTypeDef
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "EventPipeline",
    "create_connections_table",
    "create_data_table",
    "create_event_pipeline",
    "create_history_table",
]


def create_connections_table(client: DynamoDBClient, table_name: str) -> None:
    """PK ``connectionId``, GSI ``GSI1`` (``userId``, ``connectionId``), TTL on ``ttl``."""
    client.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "connectionId", "AttributeType": "S"},
            {"AttributeName": "userId", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": CONNECTIONS_GSI,
                "KeySchema": [
                    {"AttributeName": "userId", "KeyType": "HASH"},
                    {"AttributeName": "connectionId", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )


def create_history_table(client: DynamoDBClient, table_name: str) -> None:
    """PK ``userId``, SK ``sk`` (counter, ``event#<id>``, ``skip#<seq>``; see history.keys), the
    ``bySeq`` local index (sort key ``seq``), TTL on ``ttl``: as ``infra`` defines it."""
    client.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "userId", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": HISTORY_BY_SEQ_INDEX,
                "KeySchema": [
                    {"AttributeName": "userId", "KeyType": "HASH"},
                    {"AttributeName": "seq", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )


def create_data_table(client: DynamoDBClient, table: DataTable) -> str:
    """A business data table with a NEW_AND_OLD_IMAGES stream; returns the stream ARN."""
    keys: list[KeySchemaElementTypeDef] = [{"AttributeName": table.user_attribute, "KeyType": "HASH"}]
    attributes: list[AttributeDefinitionTypeDef] = [
        {"AttributeName": table.user_attribute, "AttributeType": "S"}
    ]
    if table.id_attribute:
        keys.append({"AttributeName": table.id_attribute, "KeyType": "RANGE"})
        attributes.append({"AttributeName": table.id_attribute, "AttributeType": "S"})
    response = client.create_table(
        TableName=table.name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=attributes,
        KeySchema=keys,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return response["TableDescription"]["LatestStreamArn"]


def create_data_tables(client: DynamoDBClient) -> dict[str, str]:
    """Every table of ``DATA_TABLES``; returns table name -> stream ARN."""
    return {table.name: create_data_table(client, table) for table in DATA_TABLES}


@dataclass(frozen=True)
class EventPipeline:
    """Where events flow locally: bus -> rule -> queue (-> DLQ after MAX_RECEIVE_COUNT)."""

    bus_name: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


def create_event_pipeline(events: EventBridgeClient, sqs: SQSClient, bus_name: str) -> EventPipeline:
    """The bus, the dispatch rules (patterns from the catalogue, one per message group) and the
    FIFO dispatch queue with its FIFO DLQ, as ``infra/`` deploys them."""
    fifo: Any = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    dlq_url = sqs.create_queue(QueueName=DISPATCH_DLQ, Attributes=fifo)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=DISPATCH_QUEUE,
        Attributes={
            **fifo,
            "VisibilityTimeout": str(DISPATCH_VISIBILITY_TIMEOUT_SECONDS),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.create_event_bus(Name=bus_name)
    for route in dispatch_routes():
        rule = f"{DISPATCH_RULE}-{route.name}"
        events.put_rule(
            Name=rule, EventBusName=bus_name, EventPattern=json.dumps(route.pattern), State="ENABLED"
        )
        target: Any = {
            "Id": "dispatch-queue",
            "Arn": queue_arn,
            "SqsParameters": {"MessageGroupId": route.name},
        }
        events.put_targets(Rule=rule, EventBusName=bus_name, Targets=[target])
    return EventPipeline(bus_name, queue_url, queue_arn, dlq_url, dlq_arn)
