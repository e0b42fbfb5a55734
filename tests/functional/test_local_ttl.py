"""The TTL sweep against moto's server (which never expires items): items expired for longer
than the lag go, the rest stay, on any table whose TTL is enabled."""

from __future__ import annotations

import uuid
from typing import Any

from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.local.provision import create_history_table
from healthcoach_realtime.local.ttl import DEFAULT_TTL_LAG_SECONDS, TtlSweeper

NOW = 1_800_000_000
LAG = 60


def test_sweep_deletes_expired_connections_only(dynamodb: Any, connections_table: str) -> None:
    """With no lag, rows whose ttl is in the past are deleted; a row with a future ttl survives."""
    store = ConnectionStore(dynamodb, connections_table)
    store.add(Connection("old-1", "u1", ttl=NOW - 10))
    store.add(Connection("old-2", "u2", ttl=NOW - 1))
    store.add(Connection("live", "u1", ttl=NOW + 3600))

    deleted = TtlSweeper(dynamodb, connections_table, lag_seconds=0).sweep(now=NOW)

    assert deleted == 2
    assert store.get("old-1") is None
    assert store.get("old-2") is None
    assert store.get("live") is not None


def test_sweep_of_a_table_without_expired_rows_deletes_nothing(dynamodb: Any, connections_table: str) -> None:
    """Nothing expired: nothing deleted."""
    store = ConnectionStore(dynamodb, connections_table)
    store.add(Connection("live", "u1", ttl=NOW + 1))

    assert TtlSweeper(dynamodb, connections_table, lag_seconds=0).sweep(now=NOW) == 0
    assert store.get("live") is not None


def test_an_item_expired_less_than_the_lag_ago_survives_a_sweep(
    dynamodb: Any, connections_table: str
) -> None:
    """Expired ``LAG - 1`` s ago: kept (still readable, as on AWS); swept once ``LAG`` has passed."""
    store = ConnectionStore(dynamodb, connections_table)
    store.add(Connection("recent", "u1", ttl=NOW - (LAG - 1)))
    store.add(Connection("long-gone", "u1", ttl=NOW - (LAG + 1)))
    sweeper = TtlSweeper(dynamodb, connections_table, lag_seconds=LAG)

    assert sweeper.sweep(now=NOW) == 1
    assert store.get("long-gone") is None
    assert store.get("recent") is not None
    assert sweeper.sweep(now=NOW + 2) == 1
    assert store.get("recent") is None


def test_the_default_lag_keeps_a_just_expired_item(dynamodb: Any, connections_table: str) -> None:
    """Without ``lag_seconds`` the sweep waits ``DEFAULT_TTL_LAG_SECONDS`` after the expiry."""
    store = ConnectionStore(dynamodb, connections_table)
    store.add(Connection("c1", "u1", ttl=NOW))
    sweeper = TtlSweeper(dynamodb, connections_table)

    assert sweeper.sweep(now=NOW + DEFAULT_TTL_LAG_SECONDS) == 0
    assert sweeper.sweep(now=NOW + DEFAULT_TTL_LAG_SECONDS + 1) == 1


def test_a_refreshed_item_survives(dynamodb: Any, connections_table: str) -> None:
    """An item whose ttl was pushed forward before the sweep is kept."""
    store = ConnectionStore(dynamodb, connections_table)
    store.add(Connection("c1", "u1", ttl=NOW - LAG - 100))
    store.add(Connection("c1", "u1", ttl=NOW + 3600))

    assert TtlSweeper(dynamodb, connections_table, lag_seconds=LAG).sweep(now=NOW) == 0
    assert store.get("c1") is not None


class _RefreshingBeforeDelete:
    """The real client, except that the first DeleteItem is preceded by a write that refreshes
    the item (what a reconnecting client does between the sweep's scan and its delete): a
    wrapper, since no request can be slipped in between the two otherwise."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table
        self.refreshed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_item(self, **kwargs: Any) -> Any:
        if not self.refreshed:
            self.refreshed = True
            self._client.update_item(
                TableName=self._table,
                Key=kwargs["Key"],
                UpdateExpression="SET #t = :t",
                ExpressionAttributeNames={"#t": "ttl"},
                ExpressionAttributeValues={":t": {"N": str(NOW + 3600)}},
            )
        return self._client.delete_item(**kwargs)


def test_an_item_refreshed_between_scan_and_delete_survives(dynamodb: Any, connections_table: str) -> None:
    """The delete is conditional on the ttl it scanned: a refresh in between wins."""
    store = ConnectionStore(dynamodb, connections_table)
    store.add(Connection("c1", "u1", ttl=NOW - LAG - 100))
    client = _RefreshingBeforeDelete(dynamodb, connections_table)

    deleted = TtlSweeper(client, connections_table, lag_seconds=LAG).sweep(now=NOW)  # type: ignore[arg-type]

    assert (client.refreshed, deleted) == (True, 0)
    assert store.get("c1") is not None


def test_any_table_with_ttl_enabled_is_swept(dynamodb: Any) -> None:
    """The history table (hash and range key) is swept on its own TTL attribute."""
    table = f"history-{uuid.uuid4().hex[:8]}"
    create_history_table(dynamodb, table)
    for sk, ttl in (("event#old", NOW - LAG - 1), ("event#new", NOW + 10), ("counter", None)):
        item = {"userId": {"S": "u1"}, "sk": {"S": sk}}
        if ttl is not None:
            item["ttl"] = {"N": str(ttl)}
        dynamodb.put_item(TableName=table, Item=item)

    assert TtlSweeper(dynamodb, table, lag_seconds=LAG).sweep(now=NOW) == 1

    left = dynamodb.query(
        TableName=table,
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": "u1"}},
        ConsistentRead=True,
    )["Items"]
    assert sorted(item["sk"]["S"] for item in left) == ["counter", "event#new"]


def test_the_table_s_ttl_setting_names_the_attribute(dynamodb: Any) -> None:
    """A table with TTL on ``expiresAt`` is swept on it; with TTL disabled it is left alone."""
    table = f"ttl-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    for name in ("a", "b"):
        dynamodb.put_item(TableName=table, Item={"id": {"S": name}, "expiresAt": {"N": str(NOW - LAG - 1)}})
    sweeper = TtlSweeper(dynamodb, table, lag_seconds=LAG)

    assert sweeper.sweep(now=NOW) == 0
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )
    assert sweeper.sweep(now=NOW) == 2
