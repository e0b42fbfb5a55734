"""The TTL sweep against moto's server (which never expires items): expired rows go, live ones stay."""

from __future__ import annotations

from typing import Any

from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.local.ttl import TtlSweeper

NOW = 1_800_000_000


def test_sweep_deletes_expired_connections_only(dynamodb: Any, connections_table: str) -> None:
    """Rows whose ttl is in the past are deleted; a row with a future ttl survives."""
    store = ConnectionStore(dynamodb, connections_table)
    store.add(Connection("old-1", "u1", ttl=NOW - 10))
    store.add(Connection("old-2", "u2", ttl=NOW - 1))
    store.add(Connection("live", "u1", ttl=NOW + 3600))

    deleted = TtlSweeper(dynamodb, connections_table).sweep(now=NOW)

    assert deleted == 2
    assert store.get("old-1") is None
    assert store.get("old-2") is None
    assert store.get("live") is not None


def test_sweep_of_a_table_without_expired_rows_deletes_nothing(dynamodb: Any, connections_table: str) -> None:
    """Nothing expired: nothing deleted."""
    store = ConnectionStore(dynamodb, connections_table)
    store.add(Connection("live", "u1", ttl=NOW + 1))

    assert TtlSweeper(dynamodb, connections_table).sweep(now=NOW) == 0
    assert store.get("live") is not None
