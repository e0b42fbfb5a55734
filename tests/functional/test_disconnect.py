"""$disconnect handler, loaded by path, against moto's server."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tests.support.lambda_handlers import LambdaContext, load_handler
from tests.support.sqs_events import emf_metrics

from healthcoach_realtime.connections import Connection, ConnectionStore

# $connect notes each new connection on the user's seq counter; $disconnect removes it.
pytestmark = pytest.mark.usefixtures("history_table")

EVENTS = Path(__file__).resolve().parents[1] / "events"


@pytest.fixture
def disconnect(connections_table: str) -> ModuleType:
    """The handler module, fresh, pointed at the test's table."""
    return load_handler("disconnect")


@pytest.fixture
def store(dynamodb: Any, connections_table: str) -> ConnectionStore:
    return ConnectionStore(dynamodb, connections_table)


def disconnect_event(connection_id: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "apigw_disconnect.json").read_text()))
    event["requestContext"]["connectionId"] = connection_id
    return event


def invoke(handler: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = handler.handler(event, LambdaContext())
    return response


def test_disconnect_removes_the_row(disconnect: ModuleType, store: ConnectionStore) -> None:
    """The connection's row is deleted and the answer is 200."""
    store.add(Connection(connection_id="c1=", user_id="user-1"))
    assert invoke(disconnect, disconnect_event("c1="))["statusCode"] == 200
    assert store.get("c1=") is None


def test_disconnect_twice_is_fine(disconnect: ModuleType, store: ConnectionStore) -> None:
    """API Gateway may deliver $disconnect more than once: the second is a 200 too."""
    store.add(Connection(connection_id="c1=", user_id="user-1"))
    responses = [invoke(disconnect, disconnect_event("c1="))["statusCode"] for _ in range(2)]
    assert responses == [200, 200]


def test_disconnect_leaves_the_users_other_connections(
    disconnect: ModuleType, store: ConnectionStore
) -> None:
    """Only the closed connection goes; the user's other tab stays reachable."""
    store.add(Connection(connection_id="c1=", user_id="user-1"))
    store.add(Connection(connection_id="c2=", user_id="user-1"))
    invoke(disconnect, disconnect_event("c1="))
    assert store.connection_ids_of("user-1") == ["c2="]


def test_disconnect_is_counted(disconnect: ModuleType, capsys: Any) -> None:
    """The ConnectionsClosed metric is emitted."""
    invoke(disconnect, disconnect_event("c9="))
    out = capsys.readouterr().out
    assert '"ConnectionsClosed"' in out


def test_malformed_event_is_500(disconnect: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    """An event without a connection id (a wiring bug) is a 500 counted as HandlerFailures."""
    event = disconnect_event("c1=")
    del event["requestContext"]["connectionId"]
    assert invoke(disconnect, event)["statusCode"] == 500
    assert emf_metrics(capsys.readouterr().out)["HandlerFailures"] == 1
