"""The local gateway's API Gateway events: the shapes of real captures, and route selection."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from healthcoach_realtime.local.apigw_events import (
    ApiContext,
    Peer,
    connect_event,
    disconnect_event,
    message_event,
    new_connection_id,
    request_time,
    select_route,
)
from healthcoach_realtime.websocket_events import parse_connect, parse_disconnect

EVENTS = Path(__file__).resolve().parents[1] / "events"
API = ApiContext(api_id="hcrealtime", stage="local", domain_name="127.0.0.1:3001")
PEER = Peer(
    connection_id="BFHPhfCWIAMCKlQ=", connected_at_ms=1731324924553, source_ip="127.0.0.1", user_agent="UA/1"
)
NOW_MS = 1731324924561
ROUTES = {"$connect", "$disconnect", "$default", "ping"}


def capture(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def connect(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "headers": [("Host", "127.0.0.1:3001"), ("Sec-WebSocket-Protocol", "healthcoach.v1, tok")],
        "query": [],
        "now_ms": NOW_MS,
        "request_id": "req=",
    }
    return connect_event(API, PEER, **{**arguments, **overrides})


def test_connect_event_has_the_keys_of_a_real_capture() -> None:
    """Top level and requestContext carry exactly the keys API Gateway sends on $connect."""
    real = capture("apigw_connect")
    event = connect()
    assert set(event) == set(real)
    assert set(event["requestContext"]) == set(real["requestContext"])
    assert event["requestContext"]["eventType"] == "CONNECT"
    assert event["requestContext"]["routeKey"] == "$connect"


def test_connect_event_omits_query_keys_without_a_query_string() -> None:
    """No query string: no queryStringParameters key at all, as API Gateway does."""
    assert "queryStringParameters" not in connect()
    assert "multiValueQueryStringParameters" not in connect()


def test_connect_event_query_string_reaches_the_connect_parser() -> None:
    """The project's $connect parser reads the token from the built event's query string."""
    event = connect(query=[("token", "abc.def.ghi")])
    assert event["queryStringParameters"] == {"token": "abc.def.ghi"}
    assert parse_connect(event).token == "abc.def.ghi"


def test_connect_event_subprotocol_header_reaches_the_connect_parser() -> None:
    """The offered subprotocols travel in headers and multiValueHeaders."""
    request = parse_connect(connect())
    assert request.subprotocol == "healthcoach.v1"
    assert request.token == "tok"
    assert request.connection_id == PEER.connection_id


def test_connect_event_adds_forwarded_for_the_peer() -> None:
    """API Gateway adds X-Forwarded-For with the client's IP."""
    assert connect()["headers"]["X-Forwarded-For"] == "127.0.0.1"


def test_repeated_header_keeps_every_value_in_multi_value_headers() -> None:
    """Two lines of one header: the last in headers, both in multiValueHeaders."""
    event = connect(headers=[("X-Test", "a"), ("X-Test", "b")])
    assert event["headers"]["X-Test"] == "b"
    assert event["multiValueHeaders"]["X-Test"] == ["a", "b"]


def test_disconnect_event_has_the_keys_of_a_real_capture() -> None:
    """$disconnect: the capture's keys, with the close code and reason the parser reads."""
    real = capture("apigw_disconnect")
    event = disconnect_event(API, PEER, status_code=1001, reason="Going away", now_ms=NOW_MS, request_id="r=")
    assert set(event) == set(real)
    assert set(event["requestContext"]) == set(real["requestContext"])
    parsed = parse_disconnect(event)
    assert (parsed.connection_id, parsed.status_code, parsed.reason) == (
        PEER.connection_id,
        1001,
        "Going away",
    )


def test_message_event_carries_body_route_and_message_id() -> None:
    """A text message: its body as is, the routed key, a messageId, no headers."""
    event = message_event(
        API, PEER, route_key="ping", body='{"action":"ping"}', now_ms=NOW_MS, request_id="r=", message_id="m="
    )
    assert event["body"] == '{"action":"ping"}'
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["routeKey"] == "ping"
    assert event["requestContext"]["eventType"] == "MESSAGE"
    assert event["requestContext"]["messageId"] == "m="
    assert "headers" not in event


def test_binary_message_is_base64_encoded() -> None:
    """A binary frame's body is base64 with isBase64Encoded true."""
    event = message_event(
        API, PEER, route_key="$default", body=b"\x00\xff", now_ms=NOW_MS, request_id="r", message_id="m"
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xff"


def test_request_time_is_written_as_api_gateway_writes_it() -> None:
    """requestTime: day/Mon/year:hh:mm:ss +0000, as in the capture."""
    assert request_time(1731324924561) == "11/Nov/2024:11:35:24 +0000"


def test_connection_id_has_api_gateways_shape() -> None:
    """16 URL-safe characters ending in '=', like BFHPhfCWIAMCKlQ=."""
    connection_id = new_connection_id(lambda n: bytes(range(n)))
    assert len(connection_id) == 16
    assert connection_id.endswith("=")
    assert new_connection_id() != new_connection_id()


@pytest.mark.parametrize(
    ("body", "route"),
    [
        ('{"action": "ping"}', "ping"),
        ('{"action": "unknown"}', "$default"),
        ('{"message": "no action"}', "$default"),
        ('{"action": 5}', "$default"),
        ("not json", "$default"),
        ('["action"]', "$default"),
        (b'{"action": "ping"}', "$default"),
        ('{"action": "$connect"}', "$default"),
    ],
)
def test_route_selection_by_request_body_action(body: str | bytes, route: str) -> None:
    """$request.body.action picks a route; anything else goes to $default."""
    assert select_route(body, ROUTES) == route


def test_no_route_without_default() -> None:
    """Without a $default route an unmatched message has no route (the client gets Forbidden)."""
    assert select_route('{"action": "x"}', {"$connect", "$disconnect"}) is None
