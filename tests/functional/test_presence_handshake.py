"""Presence out of the handshake: the $connect, $default and $disconnect handlers, loaded by path,
against moto's DynamoDB over HTTP, a JWKS served over loopback and the recording @connections fake.

``$connect`` posts nothing; the new connection's ``{"action": "presence"}`` is answered and the
same count goes to its siblings, their posts in flight at once; ``$disconnect`` tells the
remaining ones the same way; neither starts a post once the invocation's time is nearly up.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.support.lambda_handlers import LambdaContext, load_handler
from tests.support.management_api import ManagementApiFake

from healthcoach_realtime.connections import Connection, ConnectionStore
from healthcoach_realtime.dev_identity import DevIssuer

# $connect notes each new connection on the user's seq counter; $disconnect removes it.
pytestmark = pytest.mark.usefixtures("history_table")

EVENTS = Path(__file__).resolve().parents[1] / "events"
SIBLINGS = ("laptop=", "phone=", "tablet=")


@pytest.fixture
def store(handler_environment: None, store: ConnectionStore) -> ConnectionStore:
    """Every handler's variables; u1 has three connections open already, u2 one."""
    for connection_id in SIBLINGS:
        store.add(Connection(connection_id, "u1"))
    store.add(Connection("stranger=", "u2"))
    return store


def open_connection(issuer: DevIssuer, context: LambdaContext | None = None) -> str:
    """A $connect of u1 with a valid token; the new connection's id."""
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "apigw_connect.json").read_text()))
    connection_id = f"{uuid.uuid4().hex[:14]}="
    event["requestContext"]["connectionId"] = connection_id
    token = issuer.mint("u1")
    event["queryStringParameters"] = {"token": token}
    event["multiValueQueryStringParameters"] = {"token": [token]}
    assert load_handler("connect").handler(event, context or LambdaContext())["statusCode"] == 200
    return connection_id


def ask_presence(connection_id: str, context: LambdaContext | None = None) -> None:
    event: dict[str, Any] = json.loads((EVENTS / "apigw_default_message.json").read_text())
    event["body"] = '{"action":"presence"}'
    event["requestContext"]["connectionId"] = connection_id
    assert load_handler("default").handler(event, context or LambdaContext()) == {"statusCode": 200}


def close(connection_id: str, context: LambdaContext | None = None) -> None:
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "apigw_disconnect.json").read_text()))
    event["requestContext"]["connectionId"] = connection_id
    assert load_handler("disconnect").handler(event, context or LambdaContext())["statusCode"] == 200


def received(api: ManagementApiFake, *connection_ids: str) -> dict[str, list[dict[str, Any]]]:
    return {c: [json.loads(b) for b in api.frames(c)] for c in connection_ids}


def test_connect_posts_nothing_however_many_siblings_are_open(
    store: ConnectionStore, api: ManagementApiFake, issuer: DevIssuer
) -> None:
    """Three siblings open: the handshake records the row and makes no PostToConnection at all."""
    opened = open_connection(issuer)
    assert opened in store.connection_ids_of("u1")
    assert api.posts() == []


def test_the_new_connections_ask_is_answered_and_reaches_its_siblings_at_once(
    store: ConnectionStore, api: ManagementApiFake, issuer: DevIssuer
) -> None:
    """After $connect, the ask: the asker and each of the three siblings get 4 in answer to it
    (the siblings' posts all in flight together); the other user's connection gets nothing."""
    opened = open_connection(issuer)
    before = len(api.posts())
    api.rendezvous(*SIBLINGS)
    ask_presence(opened)
    told = sorted((p.connection_id, json.loads(p.body)) for p in api.posts()[before:] if p.status == 200)
    four = {"type": "presence", "connections": 4}
    assert told == sorted([(opened, four), *((sibling, four) for sibling in SIBLINGS)])
    assert not api.rendezvous_failed


def test_disconnect_tells_the_remaining_connections_at_once(
    store: ConnectionStore, api: ManagementApiFake
) -> None:
    """laptop= leaves: phone= and tablet= get 2, their posts in flight together."""
    api.rendezvous("phone=", "tablet=")
    close("laptop=")
    two = [{"type": "presence", "connections": 2}]
    assert received(api, *SIBLINGS) == {"laptop=": [], "phone=": two, "tablet=": two}
    assert not api.rendezvous_failed


def test_no_presence_post_starts_when_the_invocation_is_nearly_over(
    store: ConnectionStore, api: ManagementApiFake, issuer: DevIssuer
) -> None:
    """With 0.4 s left the asker still gets its answer, but no sibling post is started (and
    ``$disconnect`` with 0.1 s left starts none either): the handlers return in time."""
    opened = open_connection(issuer)
    ask_presence(opened, LambdaContext(remaining_ms=400))
    close("laptop=", LambdaContext(remaining_ms=100))
    assert [p.connection_id for p in api.posts()] == [opened]
