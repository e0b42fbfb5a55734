"""The connections table: who is connected where (schema in DESIGN.md, a contract).

``ConnectionStore`` is the only code that knows the table's shape; the client is passed in,
so the same class runs against DynamoDB in AWS and moto's server in tests and locally.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from healthcoach_realtime.resources import CONNECTIONS_GSI
from healthcoach_realtime.settings import CONNECTION_TTL_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

__all__ = ["Connection", "ConnectionStore"]


@dataclass(frozen=True)
class Connection:
    """One open WebSocket of a user. ``source_ip``/``user_agent`` help operations, nothing else."""

    connection_id: str
    user_id: str
    connected_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    ttl: int = field(default_factory=lambda: int(time.time()) + CONNECTION_TTL_SECONDS)
    source_ip: str = ""
    user_agent: str = ""

    def to_item(self) -> dict[str, AttributeValueTypeDef]:
        """The DynamoDB item; the guide's attributes first, operational extras only when known."""
        item: dict[str, AttributeValueTypeDef] = {
            "connectionId": {"S": self.connection_id},
            "userId": {"S": self.user_id},
            "connectedAt": {"S": self.connected_at},
            "ttl": {"N": str(self.ttl)},
        }
        if self.source_ip:
            item["sourceIp"] = {"S": self.source_ip}
        if self.user_agent:
            item["userAgent"] = {"S": self.user_agent[:512]}
        return item

    @classmethod
    def from_item(cls, item: dict[str, AttributeValueTypeDef]) -> Connection:
        """Read an item back; tolerant of rows written by the guide's TypeScript handlers."""

        def text(name: str) -> str:
            value = item.get(name, {})
            return str(value.get("S", "")) if isinstance(value, dict) else ""

        ttl_value = item.get("ttl", {})
        ttl = int(str(ttl_value.get("N", "0"))) if isinstance(ttl_value, dict) else 0
        return cls(
            connection_id=text("connectionId"),
            user_id=text("userId"),
            connected_at=text("connectedAt"),
            ttl=ttl,
            source_ip=text("sourceIp"),
            user_agent=text("userAgent"),
        )


class ConnectionStore:
    """Reads and writes the connections table through a low-level DynamoDB client."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, connection: Connection) -> None:
        """Record a connection (one PutItem)."""
        self._client.put_item(TableName=self._table, Item=connection.to_item())

    def remove(self, connection_id: str) -> Connection | None:
        """Forget a connection; removing one that is already gone is fine (idempotent).

        Returns the removed row (same single DeleteItem, ``ALL_OLD``), or None when there was none.
        """
        response = self._client.delete_item(
            TableName=self._table, Key={"connectionId": {"S": connection_id}}, ReturnValues="ALL_OLD"
        )
        old = response.get("Attributes")
        return Connection.from_item(old) if old else None

    def get(self, connection_id: str) -> Connection | None:
        """One connection by id, or None."""
        response = self._client.get_item(
            TableName=self._table, Key={"connectionId": {"S": connection_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return Connection.from_item(item) if item else None

    def connection_ids_of(self, user_id: str) -> list[str]:
        """Every connection id of a user: one GSI query (paginated) that returns the ids only
        (the dispatcher's lookup: a smaller answer is less to send and to parse)."""
        return [str(item["connectionId"]["S"]) for item in self._query(user_id, only="connectionId")]

    def connections_of(self, user_id: str) -> list[Connection]:
        """Every connection of a user, with what the GSI projects."""
        return [Connection.from_item(item) for item in self._query(user_id)]

    def _query(self, user_id: str, only: str | None = None) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        projection: dict[str, Any] = {"ProjectionExpression": only} if only else {}
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=CONNECTIONS_GSI,
            KeyConditionExpression="userId = :u",
            ExpressionAttributeValues={":u": {"S": user_id}},
            **projection,
        )
        for page in pages:
            yield from page.get("Items", [])
