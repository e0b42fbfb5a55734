"""Create in an AWS emulator exactly the resources ``infra/`` deploys (names from ``resources``).

Used by the local stack and by the tests, so both run against the same table keys, bus,
subscribers (filters, message groups, retry policies), queues and dead-letter settings as AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from healthcoach_realtime.resources import (
    BUS_RETENTION_DAYS,
    CONNECTIONS_GSI,
    DELIVERY_DLQ,
    DISPATCH_DLQ,
    DISPATCH_QUEUE,
    DISPATCH_VISIBILITY_TIMEOUT_SECONDS,
    HISTORY_BY_SEQ_INDEX,
    MAX_RECEIVE_COUNT,
    REJECTED_DLQ,
    REJECTED_QUEUE,
    SUBSCRIBERS,
    DataTable,
    SubscriberSpec,
)
from healthcoach_realtime.table_mapping import DEFAULT_SOURCES, TableSource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        CreateTableInputTypeDef,
        KeySchemaElementTypeDef,
    )
    from mypy_boto3_eventbridgev2 import EventBridgeV2Client
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "TTL_ATTRIBUTE",
    "EventPipeline",
    "connections_table_request",
    "create_connections_table",
    "create_data_table",
    "create_data_tables",
    "create_event_pipeline",
    "create_history_table",
    "create_subscriber",
    "data_table_request",
    "history_table_request",
]


# The attribute DynamoDB's TTL reads on both state tables (epoch seconds).
TTL_ATTRIBUTE = "ttl"


def connections_table_request(table_name: str) -> CreateTableInputTypeDef:
    """CreateTable's input for the connections table: PK ``connectionId``, GSI ``GSI1``
    (``userId``, ``connectionId``, all attributes), on demand; TTL on ``TTL_ATTRIBUTE`` is set
    apart (CreateTable does not take it)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "connectionId", "AttributeType": "S"},
            {"AttributeName": "userId", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "connectionId", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": CONNECTIONS_GSI,
                "KeySchema": [
                    {"AttributeName": "userId", "KeyType": "HASH"},
                    {"AttributeName": "connectionId", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def history_table_request(table_name: str) -> CreateTableInputTypeDef:
    """CreateTable's input for the history table: PK ``userId``, SK ``sk`` (counter,
    ``event#<id>``, ``skip#<seq>``; see history.keys), the ``bySeq`` local index (sort key
    ``seq``, all attributes), on demand; TTL on ``TTL_ATTRIBUTE`` is set apart."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": "userId", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": HISTORY_BY_SEQ_INDEX,
                "KeySchema": [
                    {"AttributeName": "userId", "KeyType": "HASH"},
                    {"AttributeName": "seq", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def create_connections_table(client: DynamoDBClient, table_name: str) -> None:
    """The connections table as ``infra`` defines it (``connections_table_request``), TTL on."""
    _create_state_table(client, connections_table_request(table_name))


def create_history_table(client: DynamoDBClient, table_name: str) -> None:
    """The history table as ``infra`` defines it (``history_table_request``), TTL on."""
    _create_state_table(client, history_table_request(table_name))


def _create_state_table(client: DynamoDBClient, request: CreateTableInputTypeDef) -> None:
    client.create_table(**request)
    client.update_time_to_live(
        TableName=request["TableName"],
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


# What CreateTable takes from a definition (``aws dynamodb describe-table`` prints more).
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection")


def data_table_request(
    table: DataTable, definition: Mapping[str, Any] | None = None
) -> CreateTableInputTypeDef:
    """CreateTable's input for a data table, with a NEW_AND_OLD_IMAGES stream, on demand.

    Without a definition the keys are the mapping's: PK the user attribute, SK the id attribute
    (none for one item per user). A definition (CreateTable's ``KeySchema``,
    ``AttributeDefinitions`` and indexes, bare or as ``describe-table`` prints it under
    ``Table``) gives an app's own keys, e.g. a single-table design's ``PK``/``SK``. Raises
    ``ValueError`` naming the table when the definition lacks its keys.
    """
    request: dict[str, Any] = {
        "TableName": table.name,
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
    if definition is None:
        keys: list[KeySchemaElementTypeDef] = [{"AttributeName": table.user_attribute, "KeyType": "HASH"}]
        attributes: list[AttributeDefinitionTypeDef] = [
            {"AttributeName": table.user_attribute, "AttributeType": "S"}
        ]
        if table.id_attribute:
            keys.append({"AttributeName": table.id_attribute, "KeyType": "RANGE"})
            attributes.append({"AttributeName": table.id_attribute, "AttributeType": "S"})
        request.update(KeySchema=keys, AttributeDefinitions=attributes)
        return cast("CreateTableInputTypeDef", request)
    body = definition.get("Table", definition)
    if not (isinstance(body.get("KeySchema"), list) and isinstance(body.get("AttributeDefinitions"), list)):
        raise ValueError(
            f"data table {table.name!r}: its definition needs KeySchema and AttributeDefinitions"
            " (as CreateTable takes them, or as aws dynamodb describe-table prints them)"
        )
    request.update(KeySchema=body["KeySchema"], AttributeDefinitions=body["AttributeDefinitions"])
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = body.get(kind)
        if isinstance(indexes, list) and indexes:
            request[kind] = [{k: v for k, v in index.items() if k in _INDEX_KEYS} for index in indexes]
    return cast("CreateTableInputTypeDef", request)


def create_data_table(
    client: DynamoDBClient, table: DataTable, definition: Mapping[str, Any] | None = None
) -> str:
    """A business data table with a NEW_AND_OLD_IMAGES stream; returns the stream ARN."""
    response = client.create_table(**data_table_request(table, definition))
    return response["TableDescription"]["LatestStreamArn"]


def create_data_tables(
    client: DynamoDBClient, sources: Sequence[TableSource] = DEFAULT_SOURCES
) -> dict[str, str]:
    """Every configured data table (ours by default); returns table name -> stream ARN."""
    return {
        source.table.name: create_data_table(client, source.table, source.definition) for source in sources
    }


@dataclass(frozen=True)
class EventPipeline:
    """Where events flow locally: bus -> FIFO subscriber -> dispatch queue (-> DLQ after
    MAX_RECEIVE_COUNT receives); unknown ``healthcoach.*`` events -> the rejected queue."""

    bus_name: str
    bus_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    delivery_dlq_url: str
    rejected_queue_url: str
    subscriber_arns: tuple[str, ...] = ()


# Locally nothing assumes it; the API requires a role of the calling account all the same.
DELIVERY_ROLE = "healthcoach-realtime-delivery"


def create_event_pipeline(
    eventbridge: EventBridgeV2Client,
    sqs: SQSClient,
    bus_name: str,
    *,
    subscribers: tuple[SubscriberSpec, ...] = SUBSCRIBERS,
) -> EventPipeline:
    """The queues, the bus and its subscribers (filters from the catalogue, one message group per
    user, retry policies, on-failure queues), as ``infra/`` deploys them."""
    fifo: Any = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    queues: dict[str, tuple[str, str]] = {}

    def queue(name: str, **attributes: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queues[name] = (url, arn)
        return url, arn

    dlq_url, dlq_arn = queue(DISPATCH_DLQ, **fifo)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)})
    queue_url, queue_arn = queue(
        DISPATCH_QUEUE,
        **fifo,
        VisibilityTimeout=str(DISPATCH_VISIBILITY_TIMEOUT_SECONDS),
        RedrivePolicy=redrive,
    )
    delivery_dlq_url, _ = queue(DELIVERY_DLQ, **fifo)
    rejected_url, _ = queue(REJECTED_QUEUE)
    queue(REJECTED_DLQ)
    bus_arn = eventbridge.create_event_bus(
        Name=bus_name, StorageConfiguration={"RetentionPeriodInDays": BUS_RETENTION_DAYS}
    )["EventBusArn"]
    subscriber_arns = tuple(
        create_subscriber(
            eventbridge,
            spec,
            bus_arn=bus_arn,
            target_arn=queues[spec.target_queue][1],
            on_failure_arn=queues[spec.on_failure_queue][1],
        )
        for spec in subscribers
    )
    return EventPipeline(
        bus_name=bus_name,
        bus_arn=bus_arn,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        delivery_dlq_url=delivery_dlq_url,
        rejected_queue_url=rejected_url,
        subscriber_arns=subscriber_arns,
    )


def create_subscriber(
    eventbridge: EventBridgeV2Client,
    spec: SubscriberSpec,
    *,
    bus_arn: str,
    target_arn: str,
    on_failure_arn: str,
) -> str:
    """One subscriber of ``spec`` on the bus, to the queue ``target_arn``; returns its ARN."""
    role_arn = f"arn:aws:iam::{bus_arn.split(':')[4]}:role/{DELIVERY_ROLE}"
    sqs_parameters: dict[str, str] = {}
    if spec.message_group_id:
        sqs_parameters["MessageGroupId"] = spec.message_group_id
    if spec.deduplication_id:
        sqs_parameters["MessageDeduplicationId"] = spec.deduplication_id
    invoke: Any = {"RoleArn": role_arn, "TargetArn": target_arn}
    if sqs_parameters:
        invoke["SqsParameters"] = sqs_parameters
    response = eventbridge.create_subscriber(
        Name=spec.name,
        EventBusArn=bus_arn,
        Type=spec.type,
        Description=spec.description,
        StartingPosition="LATEST",
        InvokeConfiguration=invoke,
        FilterConfiguration={
            "Language": "EVENT_BRIDGE_PATTERN",
            "Filters": [{"Pattern": spec.filter_json, "Scope": "DATA"}],
        },
        RetryPolicy={
            "MaxRetryAttempts": spec.max_retry_attempts,
            "MaxEventAgeInSeconds": spec.max_event_age_seconds,
            "RetryStrategy": "ALL",
        },
        OnFailureConfiguration={"Arn": on_failure_arn},
    )
    return response["SubscriberArn"]
