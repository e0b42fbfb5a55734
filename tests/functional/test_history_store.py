"""HistoryStore against moto's DynamoDB over HTTP: seq assignment, duplicates, resume."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from tests.support.history import keep_events

from healthcoach_realtime.history.keys import RecentConnection, counter_key
from healthcoach_realtime.history.store import (
    RECENT_CONNECTION_SECONDS,
    HistoryStore,
    NewEvent,
    stale_connections,
    young_connections,
)
from healthcoach_realtime.local.provision import create_history_table

REGION = "us-east-1"


@pytest.fixture
def history_table(dynamodb: Any) -> str:
    name = f"history-{uuid.uuid4().hex[:8]}"
    create_history_table(dynamodb, name)
    return name


@pytest.fixture
def history(dynamodb: Any, history_table: str) -> HistoryStore:
    return HistoryStore(dynamodb, history_table)


def events(*ids: str) -> list[NewEvent]:
    return [NewEvent(i, "foodLogCreated", {"id": i}, "2026-11-29T10:00:00Z") for i in ids]


def test_batch_gets_consecutive_seqs_in_order(history: HistoryStore) -> None:
    """A user's first batch gets 1..n in dispatch order."""
    assert keep_events(history, "u1", events("a", "b", "c")) == {"a": 1, "b": 2, "c": 3}


def test_users_count_separately(history: HistoryStore) -> None:
    """Seqs are per user."""
    keep_events(history, "u1", events("a", "b"))
    assert keep_events(history, "u2", events("c")) == {"c": 1}


def test_redelivered_event_keeps_its_seq(history: HistoryStore) -> None:
    """A redelivered record gets the seq it had; new events continue after the counter (the
    seq the duplicate allocated is skipped)."""
    keep_events(history, "u1", events("a", "b"))
    assert keep_events(history, "u1", events("b", "c")) == {"b": 2, "c": 4}


def test_concurrent_dispatch_keeps_seqs_unique_and_increasing(aws_env: str, history_table: str) -> None:
    """Eight threads, each its own client, dispatching one user's events (with duplicates)."""
    config = Config(max_pool_connections=16)

    def worker(n: int) -> dict[str, int]:
        client = boto3.client("dynamodb", endpoint_url=aws_env, region_name=REGION, config=config)
        store = HistoryStore(client, history_table)
        result: dict[str, int] = {}
        for batch in range(5):
            # Each event id is sent by two workers: a duplicate must keep the first seq.
            ids = [f"e{(n // 2)}-{batch}-{k}" for k in range(3)]
            result |= keep_events(store, "u1", events(*ids))
        return result

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    merged: dict[str, set[int]] = {}
    for result in results:
        for event_id, seq in result.items():
            merged.setdefault(event_id, set()).add(seq)
    assert all(len(seqs) == 1 for seqs in merged.values()), "a duplicate got a second seq"
    seqs = sorted(next(iter(s)) for s in merged.values())
    assert len(seqs) == len(set(seqs)) == 4 * 5 * 3
    for n, result in enumerate(results):
        # Within one worker, later events got larger seqs.
        ordered = [result[f"e{n // 2}-{b}-{i}"] for b in range(5) for i in range(3)]
        assert ordered == sorted(ordered)


def test_resume_replays_kept_events_in_order(history: HistoryStore) -> None:
    """Everything after ``since``, ascending, frames carrying seq."""
    keep_events(history, "u1", events("a", "b", "c", "d"))
    plan = history.plan_resume("u1", 2)
    assert (plan.resync, [json.loads(e.encoded())["id"] for e in plan.events]) == (False, ["c", "d"])


def test_resume_beyond_history_is_resync(dynamodb: Any, history: HistoryStore, history_table: str) -> None:
    """With seq 1 gone (as TTL would remove it), a client at 0 is told to resync."""
    keep_events(history, "u1", events("a", "b"))
    dynamodb.delete_item(TableName=history_table, Key={"userId": {"S": "u1"}, "sk": {"S": "event#a"}})
    plan = history.plan_resume("u1", 0)
    assert (plan.resync, plan.latest_seq) == (True, 2)


def test_history_items_expire_after_the_configured_ttl(dynamodb: Any, history_table: str) -> None:
    """``ttl`` is now + HISTORY_TTL_SECONDS on the kept event."""
    store = HistoryStore(dynamodb, history_table, ttl_seconds=60, clock=lambda: 1000.0)
    keep_events(store, "u1", events("a"))
    item = dynamodb.get_item(TableName=history_table, Key={"userId": {"S": "u1"}, "sk": {"S": "event#a"}})
    assert item["Item"]["ttl"] == {"N": "1060"}


def count_calls(client: Any) -> list[str]:
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


def test_new_events_cost_one_put_each_plus_one_update_and_no_read(aws_env: str, history_table: str) -> None:
    """10 new events of one user: UpdateItem + 10 conditional PutItem, nothing else."""
    client = boto3.client("dynamodb", endpoint_url=aws_env, region_name=REGION)
    calls = count_calls(client)
    keep_events(HistoryStore(client, history_table), "u1", events(*(f"e{i}" for i in range(10))))
    assert calls == ["UpdateItem"] + ["PutItem"] * 10


def test_redelivered_event_costs_no_read_and_leaves_no_gap(
    aws_env: str, history: HistoryStore, history_table: str
) -> None:
    """Redelivered b: its failed condition returns its seq; the seq it allocated is kept as
    skipped, so a client at 2 resumes with c (no resync)."""
    keep_events(history, "u1", events("a", "b"))
    client = boto3.client("dynamodb", endpoint_url=aws_env, region_name=REGION)
    calls = count_calls(client)
    store = HistoryStore(client, history_table)
    assert keep_events(store, "u1", events("b", "c")) == {"b": 2, "c": 4}
    assert calls == ["UpdateItem", "PutItem", "PutItem", "PutItem"]
    plan = store.plan_resume("u1", 2)
    assert (plan.resync, [e.event_id for e in plan.events], plan.latest_seq) == (False, ["c"], 4)


def test_resume_waits_for_a_reserved_event_to_be_kept(history: HistoryStore) -> None:
    """Seq 2 reserved but kept only 0.2 s later (the dispatcher between its two steps): the
    resume reads again and replays it, instead of a hole or a resync."""
    keep_events(history, "u1", events("a"))
    first = history.reserve("u1", 1)
    timer = threading.Timer(0.2, history.claim, args=("u1", events("b")[0], first))
    timer.start()
    try:
        plan = history.plan_resume("u1", 0)
    finally:
        timer.join()
    assert (plan.resync, [e.event_id for e in plan.events]) == (False, ["a", "b"])


def test_resume_gives_up_on_an_abandoned_seq_with_resync(history: HistoryStore) -> None:
    """Seq 2 reserved by a dispatcher that crashed: after the settle time, resync (never a hole)."""
    keep_events(history, "u1", events("a"))
    history.reserve("u1", 1)
    plan = history.plan_resume("u1", 0, settle_seconds=0.05)
    assert (plan.resync, plan.latest_seq) == (True, 2)


def test_an_event_past_its_ttl_is_not_replayed_even_before_dynamodb_deletes_it(
    dynamodb: Any, history_table: str
) -> None:
    """DynamoDB deletes expired items lazily: a resume past an expired (still stored) event is a
    resync, never a replay of what the 24 h promise no longer covers."""
    now = [1_000_000.0]
    store = HistoryStore(dynamodb, history_table, ttl_seconds=60, clock=lambda: now[0])
    keep_events(store, "u1", events("old"))
    now[0] += 30
    keep_events(store, "u1", events("new"))
    assert [e.event_id for e in store.plan_resume("u1", 0, settle_seconds=0).events] == ["old", "new"]
    now[0] += 45  # "old" is 75 s old: past its ttl, still in the table
    plan = store.plan_resume("u1", 0, settle_seconds=0)
    assert (plan.resync, plan.latest_seq) == (True, 2)
    assert [e.event_id for e in store.plan_resume("u1", 1, settle_seconds=0).events] == ["new"]


# --- recent connections on the counter, and delivery progress ---


def test_the_reservation_returns_the_connections_noted_on_the_counter(history: HistoryStore) -> None:
    """``$connect`` notes its connection on the counter; the next reservation (one UpdateItem)
    returns it with its session's end and connect time; ``$disconnect`` drops it."""
    history.note_connection("u1", RecentConnection("c1=", 2_000, 1_000.5))
    history.note_connection("u1", RecentConnection("c2=", 2_100, 1_001.0))
    reservation = history.reservation("u1", 2)
    assert (reservation.first, reservation.recent) == (
        1,
        {"c1=": RecentConnection("c1=", 2_000, 1_000.5), "c2=": RecentConnection("c2=", 2_100, 1_001.0)},
    )
    history.forget_connection("u1", "c1=")
    history.forget_connection("u1", "never-noted=")  # harmless
    assert history.reservation("u1", 1).first == 3
    assert list(history.recent_connections("u1")) == ["c2="]


def test_a_counter_with_only_notes_hands_out_seqs_from_one(history: HistoryStore) -> None:
    """A note written before any event makes a counter without ``lastSeq``: it reads as 0."""
    history.note_connection("u1", RecentConnection("c1=", 2_000, 1_000.0))
    assert history.latest_seq("u1") == 0
    assert history.plan_resume("u1", 0, settle_seconds=0).resync is False
    assert keep_events(history, "u1", events("a")) == {"a": 1}


def test_forgetting_a_connection_never_creates_a_counter(
    history: HistoryStore, dynamodb: Any, history_table: str
) -> None:
    """A ``$disconnect`` of a user with no counter writes nothing."""
    history.forget_connection("nobody", "c1=")
    assert "Item" not in dynamodb.get_item(TableName=history_table, Key=counter_key("nobody"))


def test_a_new_note_prunes_the_stale_ones(history: HistoryStore) -> None:
    """Notes older than the recent window are dropped by the next ``$connect``'s one write."""
    now = 10_000.0
    history.note_connection("u1", RecentConnection("old=", 20_000, now - RECENT_CONNECTION_SECONDS - 1))
    history.note_connection("u1", RecentConnection("mid=", 20_000, now - 1))
    noted = history.recent_connections("u1")
    assert (stale_connections(noted, now), young_connections(noted, now)) == (["old="], {"mid=": 20_000})
    history.note_connection("u1", RecentConnection("new=", 20_000, now), prune=stale_connections(noted, now))
    assert sorted(history.recent_connections("u1")) == ["mid=", "new="]


def test_progress_is_kept_per_user_and_group(history: HistoryStore) -> None:
    """The seqs each connection has, by group; replaced as a whole; none reads as {}."""
    history.keep_progress("u1", "g1", {"c1=": {4}, "c2=": {4, 6}, "c3=": set()})
    history.keep_progress("u1", "g2", {"c1=": {9}})
    assert (history.progress("u1", "g1"), history.progress("u1", "g2")) == (
        {"c1=": {4}, "c2=": {4, 6}},
        {"c1=": {9}},
    )
    history.keep_progress("u1", "g1", {"c2=": {7}})
    assert (history.progress("u1", "g1"), history.progress("u2", "g1")) == ({"c2=": {7}}, {})
    assert history.kept_after("u1", 0) == []  # not in bySeq: a resume never sees it
