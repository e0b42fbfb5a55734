"""The connections table: who is connected where (schema in DESIGN.md, a contract).

``ConnectionStore`` is the only code that knows the table's shape; the client is passed in,
so the same class runs against DynamoDB in AWS and moto's server in tests and locally.

Besides the guide's attributes, a row keeps its session's end (``exp``, the token's expiry in
epoch seconds) and its ``$default`` message counter (``msgWindow``, ``msgCount``).

API Gateway answers 410 to a post to a connection whose ``$connect`` has not returned yet, so a
410 deletes a row only once it is older than ``CONNECTING_GRACE_SECONDS`` (``remove_gone``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from healthcoach_realtime.resources import CONNECTIONS_GSI
from healthcoach_realtime.sessions.expiry import ExpiredSession
from healthcoach_realtime.settings import CONNECTION_TTL_SECONDS, DEFAULT_CONNECTING_GRACE_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

__all__ = ["CONNECTING_GRACE_SECONDS", "DEFAULT_SESSION_SECONDS", "Connection", "ConnectionStore", "iso_time"]

# A Connection built without a token's exp (tests, tools) lasts as long as a Cognito token's default.
DEFAULT_SESSION_SECONDS = 3600
# A row younger than this may belong to a connection still connecting: the ``$connect``
# function's timeout (10 s) plus a margin for clock skew between hosts. A 410 leaves it alone.
CONNECTING_GRACE_SECONDS = DEFAULT_CONNECTING_GRACE_SECONDS
_CONDITION_FAILED = "ConditionalCheckFailedException"
_MESSAGE_COUNT_ATTEMPTS = 3


@dataclass(frozen=True)
class Connection:
    """One open WebSocket of a user. ``source_ip``/``user_agent`` help operations, nothing else.

    ``expires_at`` is the session's end: the token's ``exp`` (0 on a row that has none).
    """

    connection_id: str
    user_id: str
    connected_at: str = field(default_factory=lambda: iso_time(time.time()))
    ttl: int = field(default_factory=lambda: int(time.time()) + CONNECTION_TTL_SECONDS)
    source_ip: str = ""
    user_agent: str = ""
    expires_at: int = field(default_factory=lambda: int(time.time()) + DEFAULT_SESSION_SECONDS)

    def to_item(self) -> dict[str, AttributeValueTypeDef]:
        """The DynamoDB item; the guide's attributes first, operational extras only when known."""
        item: dict[str, AttributeValueTypeDef] = {
            "connectionId": {"S": self.connection_id},
            "userId": {"S": self.user_id},
            "connectedAt": {"S": self.connected_at},
            "ttl": {"N": str(self.ttl)},
            "exp": {"N": str(self.expires_at)},
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

        return cls(
            connection_id=text("connectionId"),
            user_id=text("userId"),
            connected_at=text("connectedAt"),
            ttl=_number(item, "ttl"),
            source_ip=text("sourceIp"),
            user_agent=text("userAgent"),
            expires_at=_number(item, "exp"),
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

    def remove_gone(self, connection_id: str, connected_before: float) -> Connection | None:
        """Forget a connection that answered 410, only if its row was written before
        ``connected_before`` (epoch seconds): a younger one may still be connecting. The removed
        row, or None when it was young (kept) or already gone (one conditional DeleteItem)."""
        # connectedAt is ISO 8601 UTC with milliseconds: as strings they sort as times.
        return self._remove_if(
            connection_id,
            "attribute_not_exists(connectedAt) OR connectedAt < :cutoff",
            values={":cutoff": {"S": iso_time(connected_before)}},
        )

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

    def sessions_of(self, user_id: str) -> dict[str, int]:
        """Every connection id of a user with its session's end (``exp``; 0 when the row has none):
        the same one GSI query as ``connection_ids_of``, with one more small attribute."""
        return {
            str(item["connectionId"]["S"]): _number(item, "exp")
            for item in self._query(user_id, only="connectionId, #exp", names={"#exp": "exp"})
        }

    def extend_session(self, connection_id: str, user_id: str, expires_at: int) -> bool:
        """Set the session's end, only on this connection and only while it belongs to ``user_id``;
        False (nothing written) when the row is gone or another user's."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"connectionId": {"S": connection_id}},
                UpdateExpression="SET #exp = :exp",
                ConditionExpression="userId = :user",
                ExpressionAttributeNames={"#exp": "exp"},
                ExpressionAttributeValues={":exp": {"N": str(expires_at)}, ":user": {"S": user_id}},
            )
        except ClientError as exc:
            if _error_code(exc) == _CONDITION_FAILED:
                return False
            raise
        return True

    def count_message(self, connection_id: str, window: int) -> tuple[Connection, int] | None:
        """Count one message in ``window`` (its start, epoch seconds); the row and the count so far.

        None when there is no such connection (a message never creates a row). The first message
        of a window starts the count (one UpdateItem); later ones add to it (a second, after the
        first's condition fails), so a quiet connection's ping costs one write.
        """
        key: dict[str, AttributeValueTypeDef] = {"connectionId": {"S": connection_id}}
        names = {"#w": "msgWindow", "#n": "msgCount"}
        values: dict[str, AttributeValueTypeDef] = {":w": {"N": str(window)}, ":one": {"N": "1"}}
        for _ in range(_MESSAGE_COUNT_ATTEMPTS):
            try:
                started = self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET #w = :w, #n = :one",
                    ConditionExpression="attribute_exists(connectionId) AND "
                    "(attribute_not_exists(#w) OR #w <> :w)",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return Connection.from_item(started["Attributes"]), 1
            except ClientError as exc:
                if _error_code(exc) != _CONDITION_FAILED:
                    raise
                if not exc.response.get("Item"):
                    return None
            try:
                added = self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="ADD #n :one",
                    ConditionExpression="#w = :w",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if _error_code(exc) != _CONDITION_FAILED:
                    raise
                continue  # the row went, or another message started a newer window: look again
            attributes = added["Attributes"]
            return Connection.from_item(attributes), _number(attributes, "msgCount")
        return None

    def remove_expired(self, connection_id: str, now: float) -> Connection | None:
        """Delete the row only if its session has ended (no ``exp``, or ``exp`` <= ``now``); the
        removed row, or None when it is gone or was refreshed meanwhile (then it stays open)."""
        return self._remove_if(
            connection_id,
            "attribute_not_exists(#exp) OR #exp <= :now",
            names={"#exp": "exp"},
            values={":now": {"N": str(int(now))}},
        )

    def expired_sessions(
        self, now: float, *, segment: int = 0, segments: int = 1
    ) -> Iterator[ExpiredSession]:
        """Rows whose session ended by ``now`` (or that have no ``exp``): one segment of a Scan.

        A Scan reads (and is billed for) the whole table whatever the filter; see DESIGN.md for why
        that is still the cheaper sweep at a million connections.
        """
        paginator = self._client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            Segment=segment,
            TotalSegments=segments,
            FilterExpression="attribute_not_exists(#exp) OR #exp <= :now",
            ProjectionExpression="connectionId, userId, #exp",
            ExpressionAttributeNames={"#exp": "exp"},
            ExpressionAttributeValues={":now": {"N": str(int(now))}},
        )
        for page in pages:
            for item in page.get("Items", []):
                connection = Connection.from_item(item)
                yield ExpiredSession(connection.connection_id, connection.user_id, connection.expires_at)

    def _remove_if(
        self,
        connection_id: str,
        condition: str,
        *,
        names: dict[str, str] | None = None,
        values: dict[str, AttributeValueTypeDef],
    ) -> Connection | None:
        """Delete the row only if it exists and ``condition`` holds (one DeleteItem); the removed
        row, or None when it is gone or the condition failed."""
        named: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        try:
            response = self._client.delete_item(
                TableName=self._table,
                Key={"connectionId": {"S": connection_id}},
                ConditionExpression=f"attribute_exists(connectionId) AND ({condition})",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
                **named,
            )
        except ClientError as exc:
            if _error_code(exc) == _CONDITION_FAILED:
                return None
            raise
        old = response.get("Attributes")
        return Connection.from_item(old) if old else None

    def _query(
        self, user_id: str, only: str | None = None, names: dict[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        projection: dict[str, Any] = {"ProjectionExpression": only} if only else {}
        if names:
            projection["ExpressionAttributeNames"] = names
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=CONNECTIONS_GSI,
            KeyConditionExpression="userId = :u",
            ExpressionAttributeValues={":u": {"S": user_id}},
            **projection,
        )
        for page in pages:
            yield from page.get("Items", [])


def iso_time(epoch_seconds: float) -> str:
    """``connectedAt``'s format: ISO 8601 in UTC with milliseconds."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds")


def _number(item: Mapping[str, Any], name: str) -> int:
    """An N attribute as an int; 0 when absent or not a number (rows of other writers)."""
    value = item.get(name)
    text = str(value.get("N", "")) if isinstance(value, dict) else ""
    try:
        return int(text)
    except ValueError:
        return 0


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
