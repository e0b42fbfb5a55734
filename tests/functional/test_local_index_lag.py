"""The emulator's GSIs lag their tables (``local.index_lag``), over HTTP to the session's emulator.

Most tests drive the lag with a clock of their own, so "less than the lag ago" and "later" are
exact; one test runs on the real clock.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from healthcoach_realtime.local.index_lag import Write, WriteLog, lagged_images
from healthcoach_realtime.local.provision import create_connections_table, create_history_table
from healthcoach_realtime.resources import CONNECTIONS_GSI, HISTORY_BY_SEQ_INDEX

LAG = 0.5
ROUNDS = 6  # updates per row in the concurrency test (the last one a delete for every third row)


class Clock:
    """A clock that moves only when told (thread-safe reads of a float)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(index_lag: Callable[..., None]) -> Clock:
    """The lag is ``LAG`` seconds on this clock for the test."""
    made = Clock()
    index_lag(LAG, clock=made)
    return made


@pytest.fixture
def table(dynamodb: Any) -> str:
    """A fresh connections table (GSI1: userId, connectionId)."""
    name = f"lag-{uuid.uuid4().hex[:8]}"
    create_connections_table(dynamodb, name)
    return name


def _put(dynamodb: Any, table: str, connection_id: str, user: str = "u1", **extra: str) -> None:
    item = {"connectionId": {"S": connection_id}, "userId": {"S": user}}
    item.update({name: {"S": value} for name, value in extra.items()})
    dynamodb.put_item(TableName=table, Item=item)


def _by_user(dynamodb: Any, table: str, user: str = "u1") -> dict[str, dict[str, Any]]:
    """The user's rows as GSI1 answers: connection id -> item."""
    items = dynamodb.query(
        TableName=table,
        IndexName=CONNECTIONS_GSI,
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": user}},
    )["Items"]
    return {item["connectionId"]["S"]: item for item in items}


def _scan_index(dynamodb: Any, table: str) -> set[str]:
    items = dynamodb.scan(TableName=table, IndexName=CONNECTIONS_GSI)["Items"]
    return {item["connectionId"]["S"] for item in items}


def test_a_put_reaches_the_gsi_only_after_the_lag(dynamodb: Any, table: str, clock: Clock) -> None:
    """Invisible to Query and Scan on the GSI until ``LAG`` has passed, visible after."""
    _put(dynamodb, table, "c1")

    assert _by_user(dynamodb, table) == {}
    assert _scan_index(dynamodb, table) == set()
    clock.advance(LAG - 0.01)
    assert _by_user(dynamodb, table) == {}
    clock.advance(0.02)
    assert set(_by_user(dynamodb, table)) == {"c1"}
    assert _scan_index(dynamodb, table) == {"c1"}


def test_a_deleted_row_stays_in_the_gsi_for_the_lag(dynamodb: Any, table: str, clock: Clock) -> None:
    """The old image is answered until the lag has passed, then the row is gone."""
    _put(dynamodb, table, "c1", note="before")
    clock.advance(LAG + 0.01)

    dynamodb.delete_item(TableName=table, Key={"connectionId": {"S": "c1"}})

    assert _by_user(dynamodb, table)["c1"]["note"] == {"S": "before"}
    assert _scan_index(dynamodb, table) == {"c1"}
    clock.advance(LAG + 0.01)
    assert _by_user(dynamodb, table) == {}


def test_an_update_shows_the_previous_image_for_the_lag(dynamodb: Any, table: str, clock: Clock) -> None:
    """UpdateItem (moto changes the item in place) shows the old attributes, then the new."""
    _put(dynamodb, table, "c1", note="old")
    clock.advance(LAG + 0.01)

    dynamodb.update_item(
        TableName=table,
        Key={"connectionId": {"S": "c1"}},
        UpdateExpression="SET note = :n",
        ExpressionAttributeValues={":n": {"S": "new"}},
    )

    assert _by_user(dynamodb, table)["c1"]["note"] == {"S": "old"}
    clock.advance(LAG + 0.01)
    assert _by_user(dynamodb, table)["c1"]["note"] == {"S": "new"}


def test_an_update_of_the_index_key_moves_the_row_only_after_the_lag(
    dynamodb: Any, table: str, clock: Clock
) -> None:
    """The row stays under its old user and reaches its new one after the lag."""
    _put(dynamodb, table, "c1", user="u1")
    clock.advance(LAG + 0.01)

    dynamodb.update_item(
        TableName=table,
        Key={"connectionId": {"S": "c1"}},
        UpdateExpression="SET userId = :u",
        ExpressionAttributeValues={":u": {"S": "u2"}},
    )

    assert (set(_by_user(dynamodb, table, "u1")), set(_by_user(dynamodb, table, "u2"))) == ({"c1"}, set())
    clock.advance(LAG + 0.01)
    assert (set(_by_user(dynamodb, table, "u1")), set(_by_user(dynamodb, table, "u2"))) == (set(), {"c1"})


def test_the_oldest_write_in_the_window_decides(dynamodb: Any, table: str, clock: Clock) -> None:
    """Two updates a quarter-lag apart: the image before the first, then between, then the last."""
    _put(dynamodb, table, "c1", note="v0")
    clock.advance(LAG + 0.01)
    for value in ("v1", "v2"):
        dynamodb.update_item(
            TableName=table,
            Key={"connectionId": {"S": "c1"}},
            UpdateExpression="SET note = :n",
            ExpressionAttributeValues={":n": {"S": value}},
        )
        clock.advance(LAG / 4)

    seen = [_by_user(dynamodb, table)["c1"]["note"]["S"]]
    clock.advance(LAG / 2)  # the first update is now LAG * 1.0 old, the second LAG * 0.75
    seen.append(_by_user(dynamodb, table)["c1"]["note"]["S"])
    clock.advance(LAG / 4 + 0.01)
    seen.append(_by_user(dynamodb, table)["c1"]["note"]["S"])

    assert seen == ["v0", "v1", "v2"]


def test_batch_and_transactional_writes_lag_too(dynamodb: Any, table: str, clock: Clock) -> None:
    """BatchWriteItem and TransactWriteItems go through the same recorded writes."""
    dynamodb.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": {"connectionId": {"S": "b1"}, "userId": {"S": "u1"}}}}]}
    )
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"connectionId": {"S": "t1"}, "userId": {"S": "u1"}}}}
        ]
    )

    assert _by_user(dynamodb, table) == {}
    clock.advance(LAG + 0.01)
    assert set(_by_user(dynamodb, table)) == {"b1", "t1"}


def test_base_table_reads_are_not_lagged(dynamodb: Any, table: str, clock: Clock) -> None:
    """GetItem, Query and Scan on the table itself see a put at once."""
    _put(dynamodb, table, "c1")

    key = {"connectionId": {"S": "c1"}}
    assert "Item" in dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
    assert "Item" in dynamodb.get_item(TableName=table, Key=key)
    queried = dynamodb.query(
        TableName=table,
        KeyConditionExpression="connectionId = :c",
        ExpressionAttributeValues={":c": {"S": "c1"}},
        ConsistentRead=True,
    )["Items"]
    assert [item["connectionId"]["S"] for item in queried] == ["c1"]
    assert [item["connectionId"]["S"] for item in dynamodb.scan(TableName=table)["Items"]] == ["c1"]
    assert _by_user(dynamodb, table) == {}  # while the GSI has not caught up


def test_a_local_secondary_index_is_not_lagged(dynamodb: Any, clock: Clock) -> None:
    """The history table's LSI ``bySeq`` (strongly consistent on AWS) answers a put at once."""
    name = f"lag-history-{uuid.uuid4().hex[:8]}"
    create_history_table(dynamodb, name)
    dynamodb.put_item(
        TableName=name, Item={"userId": {"S": "u1"}, "sk": {"S": "event#e1"}, "seq": {"N": "1"}}
    )

    items = dynamodb.query(
        TableName=name,
        IndexName=HISTORY_BY_SEQ_INDEX,
        KeyConditionExpression="userId = :u AND seq > :s",
        ExpressionAttributeValues={":u": {"S": "u1"}, ":s": {"N": "0"}},
        ConsistentRead=True,
    )["Items"]

    assert [item["sk"]["S"] for item in items] == ["event#e1"]


def test_no_lag_is_read_your_write(dynamodb: Any, table: str, index_lag: Callable[..., None]) -> None:
    """Lag 0: moto's behaviour, a put is in the GSI at once (and turning the lag off forgets the
    writes recorded while it was on)."""
    index_lag(LAG, clock=Clock())  # a clock that never moves: only turning the lag off shows c1
    _put(dynamodb, table, "c1")
    assert _by_user(dynamodb, table) == {}

    index_lag(0)
    _put(dynamodb, table, "c2")

    assert set(_by_user(dynamodb, table)) == {"c1", "c2"}


def test_the_lag_runs_on_the_real_clock(dynamodb: Any, table: str, index_lag: Callable[..., None]) -> None:
    """With the default clock a put appears no sooner than the lag after it was sent, and does appear."""
    lag = 0.3
    index_lag(lag)
    sent = time.monotonic()
    _put(dynamodb, table, "c1")

    while not _by_user(dynamodb, table):
        assert time.monotonic() - sent < lag + 5, "the row never reached the index"
        time.sleep(0.02)

    assert time.monotonic() - sent >= lag


@pytest.fixture
def fast_thread_switches() -> Iterator[None]:
    """Threads switch every 10 us (not 5 ms) for the test, so races show up."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


@pytest.mark.usefixtures("fast_thread_switches")
def test_concurrent_writes_and_reads_see_exact_images(dynamodb: Any, table: str, clock: Clock) -> None:
    """Writers update, delete and put rows from threads while readers query the GSI: with the
    clock standing still every read answers the rows as they were before the writes, and after
    the lag exactly the rows as written (a read not kept apart from an in-place update would
    answer some rows' new images)."""
    seeded = [f"c{n:02d}" for n in range(24)]
    for connection_id in seeded:
        _put(dynamodb, table, connection_id, note="seed")
    clock.advance(LAG + 0.01)
    expected_before = dict.fromkeys(seeded, "seed")
    writing = threading.Event()
    writing.set()

    def write(n: int) -> None:
        for round_ in range(ROUNDS):
            connection_id = seeded[n]
            if round_ == ROUNDS - 1 and n % 3 == 0:
                dynamodb.delete_item(TableName=table, Key={"connectionId": {"S": connection_id}})
            else:
                dynamodb.update_item(
                    TableName=table,
                    Key={"connectionId": {"S": connection_id}},
                    UpdateExpression="SET note = :n",
                    ExpressionAttributeValues={":n": {"S": f"w{round_}"}},
                )
        _put(dynamodb, table, f"new{n:02d}", note="new")

    def read() -> list[dict[str, str]]:
        answers = []
        while writing.is_set():
            answers.append({c: item["note"]["S"] for c, item in _by_user(dynamodb, table).items()})
        return answers

    with ThreadPoolExecutor(max_workers=8) as pool:
        readers = [pool.submit(read) for _ in range(4)]
        for writer in [pool.submit(write, n) for n in range(len(seeded))]:
            writer.result()
        writing.clear()
        answers = [answer for reader in readers for answer in reader.result()]

    assert answers, "the readers read nothing"
    assert [answer for answer in answers if answer != expected_before] == []
    clock.advance(LAG + 0.01)
    expected_after = {c: f"w{ROUNDS - 1}" for n, c in enumerate(seeded) if n % 3 != 0}
    expected_after.update({f"new{n:02d}": "new" for n in range(len(seeded))})
    assert {c: item["note"]["S"] for c, item in _by_user(dynamodb, table).items()} == expected_after


def test_lagged_images_take_each_key_s_oldest_write_after_the_cut() -> None:
    """Pure model: writes at or before the cut do not count; the first after it per key does."""
    writes = [Write(1.0, ("a", None), "a0"), Write(2.0, ("a", None), "a1"), Write(3.0, ("b", None), None)]

    assert lagged_images(writes, since=0.5) == {("a", None): "a0", ("b", None): None}
    assert lagged_images(writes, since=1.0) == {("a", None): "a1", ("b", None): None}
    assert lagged_images(writes, since=3.0) == {}


def test_the_write_log_prunes_what_aged_out_and_forgets_failed_writes() -> None:
    """Only writes inside the window are kept; a discarded write leaves no trace."""
    log = WriteLog()
    log.record(1.0, ("a", None), "a0")
    failed = log.record(2.0, ("b", None), "b0")
    log.record(3.0, ("c", None), None)
    log.discard(failed)

    assert log.images_at(1.5) == {("c", None): None}
    assert len(log) == 1
