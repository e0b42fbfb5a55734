"""DynamoDB TTL, emulated: moto records the TTL setting but never deletes expired items.

A sweep deletes every item whose TTL attribute (epoch seconds) is in the past, as DynamoDB's
background process would (DynamoDB takes minutes to days; the local sweep runs every
``interval`` seconds). The delete is conditional, so a row refreshed meanwhile survives::

    sweeper = TtlSweeper(dynamodb, "healthcoach_realtime_connections")
    sweeper.sweep(now=time.time())   # -> number of rows deleted
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DEFAULT_SWEEP_SECONDS", "TtlSweeper"]

DEFAULT_SWEEP_SECONDS = 30.0


class TtlSweeper:
    """Deletes expired items of one table; ``step`` fits ``PollerThread``."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        attribute: str = "ttl",
        interval: float = DEFAULT_SWEEP_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table_name
        self._attribute = attribute
        self._interval = interval
        self._clock = clock
        self._key_names: list[str] = []

    def step(self) -> float:
        """One sweep; returns the pause before the next."""
        self.sweep(self._clock())
        return self._interval

    def sweep(self, now: float) -> int:
        """Delete the items that expired before ``now``; returns how many were deleted."""
        keys = self._keys()
        names = {"#ttl": self._attribute, **{f"#k{i}": name for i, name in enumerate(keys)}}
        expired = {":now": {"N": str(int(now))}}
        paginator = self._client.get_paginator("scan")
        deleted = 0
        for page in paginator.paginate(
            TableName=self._table,
            FilterExpression="#ttl < :now",
            ProjectionExpression=", ".join(f"#k{i}" for i in range(len(keys))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=expired,
        ):
            for item in page.get("Items", []):
                try:
                    self._client.delete_item(
                        TableName=self._table,
                        Key=item,
                        ConditionExpression="#ttl < :now",
                        ExpressionAttributeNames={"#ttl": self._attribute},
                        ExpressionAttributeValues=expired,
                    )
                    deleted += 1
                except ClientError as exc:
                    if exc.response["Error"].get("Code") != "ConditionalCheckFailedException":
                        raise
        return deleted

    def _keys(self) -> list[str]:
        if not self._key_names:
            schema = self._client.describe_table(TableName=self._table)["Table"]["KeySchema"]
            self._key_names = [key["AttributeName"] for key in schema]
        return self._key_names
