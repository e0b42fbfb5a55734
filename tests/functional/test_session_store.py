"""The connections table's session attributes (``exp``, ``msgWindow``, ``msgCount``) against
moto's DynamoDB over HTTP: counting, extending, conditional removal, the sweeper's Scan."""

from __future__ import annotations

from typing import Any

import pytest

from healthcoach_realtime.connections import Connection, ConnectionStore

NOW = 1_800_000_000
WINDOW = NOW - NOW % 10


@pytest.fixture
def store(dynamodb: Any, connections_table: str) -> ConnectionStore:
    return ConnectionStore(dynamodb, connections_table)


def _row(dynamodb: Any, table: str, connection_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=table, Key={"connectionId": {"S": connection_id}}, ConsistentRead=True
    ).get("Item")
    return item


def test_a_connection_row_keeps_its_sessions_end(store: ConnectionStore) -> None:
    """exp is written with the row and read back, and sessions_of returns it per connection."""
    store.add(Connection("c1", "u1", expires_at=NOW + 60))
    store.add(Connection("c2", "u1", expires_at=NOW + 90))
    connection = store.get("c1")
    assert connection is not None
    assert connection.expires_at == NOW + 60
    assert store.sessions_of("u1") == {"c1": NOW + 60, "c2": NOW + 90}


def test_a_row_without_exp_reads_as_expired(
    dynamodb: Any, connections_table: str, store: ConnectionStore
) -> None:
    """A row written by another writer (no exp attribute) has session end 0: never live."""
    item = {"connectionId": {"S": "legacy"}, "userId": {"S": "u1"}, "connectedAt": {"S": "x"}}
    dynamodb.put_item(TableName=connections_table, Item=item)
    assert store.sessions_of("u1") == {"legacy": 0}


def test_messages_are_counted_per_window(store: ConnectionStore) -> None:
    """1, 2, 3 in one window; the next window starts again at 1; the row comes back each time."""
    store.add(Connection("c1", "u1", expires_at=NOW + 60))
    counts = [store.count_message("c1", WINDOW) for _ in range(3)]
    assert [(c.user_id, n) for c, n in counts if c is not None] == [("u1", 1), ("u1", 2), ("u1", 3)]
    later = store.count_message("c1", WINDOW + 10)
    assert later is not None
    assert later[1] == 1
    assert later[0].expires_at == NOW + 60


def test_counting_a_message_never_creates_a_row(
    dynamodb: Any, connections_table: str, store: ConnectionStore
) -> None:
    """An unknown connection: None, and the table still has no such row."""
    assert store.count_message("ghost", WINDOW) is None
    assert _row(dynamodb, connections_table, "ghost") is None


def test_extend_moves_exp_only_for_the_same_user(store: ConnectionStore) -> None:
    """The owner's extension is written; another user's id (or a gone row) writes nothing."""
    store.add(Connection("c1", "u1", expires_at=NOW + 60))
    assert store.extend_session("c1", "intruder", NOW + 9999) is False
    assert store.extend_session("gone", "u1", NOW + 9999) is False
    assert store.extend_session("c1", "u1", NOW + 3600) is True
    assert store.sessions_of("u1") == {"c1": NOW + 3600}


def test_remove_expired_spares_a_session_refreshed_meanwhile(store: ConnectionStore) -> None:
    """An expired row is removed (and returned); a row whose exp is ahead stays."""
    store.add(Connection("old", "u1", expires_at=NOW - 1))
    store.add(Connection("fresh", "u1", expires_at=NOW + 60))
    removed = store.remove_expired("old", NOW)
    assert removed is not None
    assert removed.connection_id == "old"
    assert store.remove_expired("fresh", NOW) is None
    assert store.remove_expired("never-there", NOW) is None
    assert store.sessions_of("u1") == {"fresh": NOW + 60}


def test_the_sweepers_scan_finds_expired_and_exp_less_rows_in_every_segment(
    dynamodb: Any, connections_table: str, store: ConnectionStore
) -> None:
    """Across 4 segments: the expired rows and the row without exp, never a live one."""
    for n in range(6):
        store.add(Connection(f"old{n}", f"u{n}", expires_at=NOW - n))
        store.add(Connection(f"live{n}", f"u{n}", expires_at=NOW + 1 + n))
    dynamodb.put_item(
        TableName=connections_table, Item={"connectionId": {"S": "legacy"}, "userId": {"S": "u9"}}
    )
    found = [s for segment in range(4) for s in store.expired_sessions(NOW, segment=segment, segments=4)]
    assert sorted(s.connection_id for s in found) == ["legacy", *(f"old{n}" for n in range(6))]
    assert {s.user_id for s in found if s.connection_id == "legacy"} == {"u9"}
