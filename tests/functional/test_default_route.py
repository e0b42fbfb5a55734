"""The $default handler, loaded by path, against moto's DynamoDB over HTTP and the loopback
@connections fake: ping, resume (replay in order, resync beyond history), errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tests.support.history import keep_events
from tests.support.lambda_handlers import LambdaContext, forget_cached_clients, load_handler
from tests.support.management_api import ManagementApiFake

from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.history.store import HistoryStore, NewEvent
from healthcoach_realtime.settings import get_settings

SAMPLE = Path(__file__).resolve().parents[1] / "events" / "apigw_default_message.json"
CONNECTION = "BFHPhfCWIAMCKlQ="


@pytest.fixture
def default(
    connections_table: str, history: HistoryStore, api: ManagementApiFake, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    monkeypatch.setenv("WS_API_ENDPOINT", api.endpoint)
    forget_cached_clients()
    yield load_handler("default")
    forget_cached_clients()


@pytest.fixture
def connected(dynamodb: Any, connections_table: str) -> None:
    ConnectionStore(dynamodb, connections_table).add(Connection(connection_id=CONNECTION, user_id="u1"))


def send(default: ModuleType, body: str) -> None:
    event = json.loads(SAMPLE.read_text())
    event["body"] = body
    assert default.handler(event, LambdaContext()) == {"statusCode": 200}


def frames(api: ManagementApiFake) -> list[dict[str, Any]]:
    return [json.loads(b) for b in api.frames(CONNECTION)]


def record(history: HistoryStore, *ids: str) -> None:
    keep_events(
        history, "u1", [NewEvent(i, "foodLogDeleted", {"id": i}, "2026-11-29T10:00:00Z") for i in ids]
    )


@pytest.mark.usefixtures("connected")
def test_ping_is_answered_with_pong(default: ModuleType, api: ManagementApiFake) -> None:
    """{"action": "ping"} -> one {"type": "pong", "time": ...} to the caller."""
    send(default, '{"action":"ping"}')
    [pong] = frames(api)
    assert pong["type"] == "pong"
    assert pong["time"].endswith("Z")


@pytest.mark.usefixtures("connected")
def test_unknown_action_gets_an_error_frame(default: ModuleType, api: ManagementApiFake) -> None:
    """An action nobody serves -> {"type": "error", "message": ...} naming it."""
    send(default, '{"action":"dance"}')
    assert frames(api) == [
        {
            "type": "error",
            "message": "unknown action 'dance'; expected 'ping', 'resume', 'presence' or 'auth'",
        }
    ]


@pytest.mark.usefixtures("connected")
def test_resume_replays_the_missed_events_in_order(
    default: ModuleType, api: ManagementApiFake, history: HistoryStore
) -> None:
    """Events 1..4 kept, client saw 2: it gets 3 and 4, in order, with their seq, then the
    terminal {"type": "resumed", "through": 4}."""
    record(history, "a", "b", "c", "d")
    send(default, '{"action":"resume","since":2}')
    *replayed, end = frames(api)
    assert [(f["id"], f["seq"]) for f in replayed] == [("c", 3), ("d", 4)]
    assert end == {"type": "resumed", "through": 4}


@pytest.mark.usefixtures("connected")
def test_a_resume_with_nothing_missed_is_answered_resumed_through_since(
    default: ModuleType, api: ManagementApiFake, history: HistoryStore
) -> None:
    """Client saw everything (2 of 2): no replay, one {"type": "resumed", "through": 2}: never silence."""
    record(history, "a", "b")
    send(default, '{"action":"resume","since":2}')
    assert frames(api) == [{"type": "resumed", "through": 2}]


@pytest.mark.usefixtures("connected")
def test_resume_beyond_history_is_one_resync_frame(
    default: ModuleType, api: ManagementApiFake, history: HistoryStore, dynamodb: Any
) -> None:
    """With seq 1 expired, a client at 0 gets exactly {"type": "resync", "latestSeq": 2}."""
    record(history, "a", "b")
    key = {"userId": {"S": "u1"}, "sk": {"S": "event#a"}}  # seq 1, as TTL would remove it
    dynamodb.delete_item(TableName=get_settings().history_table, Key=key)
    send(default, '{"action":"resume","since":0}')
    assert frames(api) == [{"type": "resync", "latestSeq": 2}]


def test_resume_from_an_unknown_connection_is_an_error(default: ModuleType, api: ManagementApiFake) -> None:
    """No connections row (never connected, or already removed): an error, never another user's data."""
    send(default, '{"action":"resume","since":0}')
    assert frames(api) == [{"type": "error", "message": "unknown connection; reconnect"}]


@pytest.mark.usefixtures("connected")
def test_presence_is_answered_with_the_users_connection_count(
    default: ModuleType, api: ManagementApiFake, dynamodb: Any, connections_table: str
) -> None:
    """{"action": "presence"} -> {"type": "presence", "connections": 2} with a second device open."""
    ConnectionStore(dynamodb, connections_table).add(Connection(connection_id="other=", user_id="u1"))
    ConnectionStore(dynamodb, connections_table).add(Connection(connection_id="x=", user_id="u2"))
    send(default, '{"action":"presence"}')
    assert frames(api) == [{"type": "presence", "connections": 2}]
