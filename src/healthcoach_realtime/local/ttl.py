"""DynamoDB TTL, emulated: moto records the TTL setting but never deletes expired items.

A sweep deletes every item of a table whose TTL attribute (epoch seconds; the table's own TTL
setting names it) has been in the past for at least ``lag_seconds``, as DynamoDB's background
process would. DynamoDB deletes lazily (typically within a few days of expiry): until then an
expired item is still read, written and streamed like any other, so code must ignore items past
their TTL itself. The lag keeps them around locally too, so code that counts on prompt deletion
fails here as it would on AWS. The delete is conditional, so an item refreshed meanwhile
survives::

    sweeper = TtlSweeper(dynamodb, "healthcoach_realtime_connections")
    sweeper.sweep(now=time.time())   # -> number of items deleted
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DEFAULT_SWEEP_SECONDS", "DEFAULT_TTL_LAG_SECONDS", "TtlSweeper"]

DEFAULT_SWEEP_SECONDS = 30.0
# How long an item stays after its TTL. DynamoDB's is up to days; a minute (1 to 1.5 with the
# sweep's interval) is far longer than any read after an expiry in the stack's flows (a resume,
# a dispatch, a reconnect), so those meet expired items as they do on AWS, while the local
# connections and history tables still lose their dead rows within minutes of a session.
DEFAULT_TTL_LAG_SECONDS = 60.0


class TtlSweeper:
    """Deletes the items of one table (any key schema) expired for ``lag_seconds``; ``step``
    fits ``PollerThread``.

    ``attribute`` names the TTL attribute; by default the table's TTL setting does, and a table
    whose TTL is not enabled is left alone (as DynamoDB leaves it).
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        attribute: str | None = None,
        interval: float = DEFAULT_SWEEP_SECONDS,
        lag_seconds: float = DEFAULT_TTL_LAG_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if lag_seconds < 0:
            raise ValueError(f"TTL lag must be >= 0 seconds, got {lag_seconds}")
        self._client = client
        self._table = table_name
        self._attribute = attribute
        self._interval = interval
        self._lag = lag_seconds
        self._clock = clock
        self._key_names: list[str] = []

    def step(self) -> float:
        """One sweep; returns the pause before the next."""
        self.sweep(self._clock())
        return self._interval

    def sweep(self, now: float) -> int:
        """Delete the items whose TTL is more than ``lag_seconds`` before ``now`` (whole
        seconds, rounded towards keeping); returns how many were deleted."""
        attribute = self._ttl_attribute()
        if attribute is None:
            return 0
        keys = self._keys()
        names = {"#ttl": attribute, **{f"#k{i}": name for i, name in enumerate(keys)}}
        expired = {":now": {"N": str(math.floor(now - self._lag))}}
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
                        ExpressionAttributeNames={"#ttl": attribute},
                        ExpressionAttributeValues=expired,
                    )
                    deleted += 1
                except ClientError as exc:
                    if exc.response["Error"].get("Code") != "ConditionalCheckFailedException":
                        raise
        return deleted

    def _ttl_attribute(self) -> str | None:
        """The given attribute, else the table's TTL attribute while its TTL is enabled (read
        on every sweep: the setting can change)."""
        if self._attribute is not None:
            return self._attribute
        ttl = self._client.describe_time_to_live(TableName=self._table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") != "ENABLED":
            return None
        return ttl.get("AttributeName")

    def _keys(self) -> list[str]:
        if not self._key_names:
            schema = self._client.describe_table(TableName=self._table)["Table"]["KeySchema"]
            self._key_names = [key["AttributeName"] for key in schema]
        return self._key_names
