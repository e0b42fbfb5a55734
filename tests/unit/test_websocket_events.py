"""Parsing API Gateway WebSocket events and building the responses API Gateway expects."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from healthcoach_realtime.websocket_events import (
    SUBPROTOCOL,
    accepted,
    closed,
    failed,
    header_values,
    offered_subprotocols,
    parse_connect,
    parse_disconnect,
    refused,
)

EVENTS = Path(__file__).resolve().parents[1] / "events"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def connect_event(**top_level: Any) -> dict[str, Any]:
    event = copy.deepcopy(load("apigw_connect"))
    event.update(top_level)
    return event


def with_subprotocols(value: str, *, header_name: str = "Sec-WebSocket-Protocol") -> dict[str, Any]:
    event = connect_event()
    event["headers"][header_name] = value
    event["multiValueHeaders"][header_name] = [value]
    return event


def test_capture_parses() -> None:
    """The sample capture gives connection id, source IP and user agent, and no token."""
    request = parse_connect(load("apigw_connect"))
    assert request.connection_id == "BFHPhfCWIAMCKlQ="
    assert request.source_ip == "166.90.225.1"
    assert request.user_agent.startswith("Mozilla/5.0")
    assert request.token == ""
    assert request.subprotocol is None


def test_token_from_query_string() -> None:
    """?token= is read from queryStringParameters."""
    event = connect_event(queryStringParameters={"token": TOKEN})
    assert parse_connect(event).token == TOKEN


def test_token_from_multi_value_query_string() -> None:
    """multiValueQueryStringParameters alone is enough."""
    event = connect_event(multiValueQueryStringParameters={"token": [TOKEN]})
    assert parse_connect(event).token == TOKEN


def test_null_query_string_is_no_token() -> None:
    """queryStringParameters: null (no query) parses to an empty token."""
    assert parse_connect(connect_event(queryStringParameters=None)).token == ""


def test_token_from_subprotocol() -> None:
    """`healthcoach.v1, <jwt>` gives the token and the subprotocol to echo."""
    request = parse_connect(with_subprotocols(f"{SUBPROTOCOL}, {TOKEN}"))
    assert request.token == TOKEN
    assert request.subprotocol == SUBPROTOCOL


def test_subprotocol_header_name_is_case_insensitive() -> None:
    """A lower-case header name (HTTP/2 proxies, the local stack) works the same."""
    request = parse_connect(
        with_subprotocols(f"{SUBPROTOCOL}, {TOKEN}", header_name="sec-websocket-protocol")
    )
    assert request.token == TOKEN


def test_subprotocol_in_multi_value_headers_only() -> None:
    """Offers repeated as separate header lines are all read."""
    event = connect_event()
    event["multiValueHeaders"]["sec-websocket-protocol"] = [SUBPROTOCOL, TOKEN]
    assert offered_subprotocols(event) == [SUBPROTOCOL, TOKEN]
    assert parse_connect(event).token == TOKEN


def test_subprotocol_in_single_value_headers_only() -> None:
    """Without multiValueHeaders, headers is used."""
    event = connect_event(multiValueHeaders=None)
    event["headers"]["SEC-WEBSOCKET-PROTOCOL"] = f"{SUBPROTOCOL},{TOKEN}"
    assert parse_connect(event).token == TOKEN


def test_token_offer_without_our_subprotocol_is_ignored() -> None:
    """A bare JWT offer (no healthcoach.v1) is not read: we could not answer the handshake."""
    request = parse_connect(with_subprotocols(TOKEN))
    assert request.token == ""
    assert request.subprotocol is None


def test_query_token_wins_but_subprotocol_is_still_echoed() -> None:
    """With both, ?token= is used and healthcoach.v1 is still chosen."""
    event = with_subprotocols(f"{SUBPROTOCOL}, other.token.value")
    event["queryStringParameters"] = {"token": TOKEN}
    request = parse_connect(event)
    assert (request.token, request.subprotocol) == (TOKEN, SUBPROTOCOL)


def test_token_is_not_in_repr() -> None:
    """The parsed request can be logged: its repr leaves the token out."""
    request = parse_connect(connect_event(queryStringParameters={"token": TOKEN}))
    assert TOKEN not in repr(request)


def test_user_agent_falls_back_to_header() -> None:
    """Without identity.userAgent, the User-Agent header is used."""
    event = connect_event()
    del event["requestContext"]["identity"]["userAgent"]
    event["headers"] = {"user-agent": "curl/8"}
    event["multiValueHeaders"] = {}
    assert parse_connect(event).user_agent == "curl/8"


def test_header_values_missing() -> None:
    """An absent header has no values."""
    assert header_values(connect_event(), "Authorization") == []


def test_event_without_connection_id_is_rejected() -> None:
    """A non-WebSocket event is a wiring bug: refuse loudly."""
    event = connect_event()
    del event["requestContext"]["connectionId"]
    with pytest.raises(ValueError, match="connectionId"):
        parse_connect(event)


def test_disconnect_capture_parses() -> None:
    """Connection id, close code and reason come from requestContext."""
    request = parse_disconnect(load("apigw_disconnect"))
    assert (request.connection_id, request.status_code, request.reason) == (
        "BFHPhfCWIAMCKlQ=",
        1001,
        "Going away",
    )


def test_accepted_names_the_subprotocol() -> None:
    """API Gateway and Chrome need the chosen subprotocol in the 200."""
    assert accepted(SUBPROTOCOL) == {
        "statusCode": 200,
        "body": "Connected",
        "headers": {"Sec-WebSocket-Protocol": SUBPROTOCOL},
    }


def test_accepted_without_subprotocol_has_no_header() -> None:
    """No offer, no Sec-WebSocket-Protocol in the answer."""
    assert "headers" not in accepted(None)


def test_refused_is_401_with_reason() -> None:
    """401 body is 'Unauthorized: <reason>'."""
    assert refused("token expired") == {"statusCode": 401, "body": "Unauthorized: token expired"}


def test_failed_and_closed() -> None:
    """500 for our faults, 200 for a disconnect."""
    assert failed()["statusCode"] == 500
    assert closed()["statusCode"] == 200
