"""The guide's ``publishUserEvent`` ported faithfully to Python: the baseline we compare with.

Per event: one GSI query (a single ``Query``, unpaginated, as the guide's ``QueryCommand``),
then every connection posted concurrently (the guide's ``Promise.all``); a 410 deletes the
row; any other error is logged and dropped (the guide retries nothing).
"""

from __future__ import annotations

import json
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from healthcoach_realtime.resources import CONNECTIONS_GSI

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["publish_user_event"]


def publish_user_event(
    user_id: str,
    event: dict[str, Any],
    *,
    dynamodb: DynamoDBClient,
    table: str,
    management: ApiGatewayManagementApiClient,
    executor: Executor,
) -> int:
    """Send ``event`` to every connection of ``user_id``; returns how many posts succeeded."""
    result = dynamodb.query(
        TableName=table,
        IndexName=CONNECTIONS_GSI,
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
    )
    connections = result.get("Items", [])
    if not connections:
        return 0
    payload = json.dumps(event).encode()

    def send(connection_id: str) -> bool:
        try:
            management.post_to_connection(ConnectionId=connection_id, Data=payload)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 410:
                dynamodb.delete_item(TableName=table, Key={"connectionId": {"S": connection_id}})
            return False
        return True

    ids = [str(item["connectionId"].get("S", "")) for item in connections]
    return sum(f.result() for f in [executor.submit(send, cid) for cid in ids])
